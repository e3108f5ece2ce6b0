import shaderFiles from "qsched:shaders";

import type { NodeAdapterChoice } from "../gpu/adapter-choice.ts";

/** The browser's `navigator.gpu`. */
export async function platformGpu(_choice?: NodeAdapterChoice): Promise<{ gpu: GPU; icd?: string; fallback?: () => Promise<{ gpu: GPU; icd?: string }> }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error("this browser has no WebGPU (navigator.gpu is undefined); try Chrome/Edge 113+ or enable WebGPU");
  return { gpu };
}

export const platformName = "browser";

/** Browsers have no async context to tell a nested call from a queued one (see the Node version). */
export function asyncMarker(): { run<T>(fn: () => T): T; active(): boolean } | null {
  return null;
}

/** Shader text bundled at build time by esbuild (scripts/build.mjs embeds shaders/**.wgsl). */
export function readShaderText(file: string): string {
  const text = shaderFiles[file];
  if (text === undefined) throw new Error(`shader file shaders/${file} is not in the bundle`);
  return text;
}

/**
 * The embedded toy-shapes pipeline's URL, next to this bundle (dist/browser/ → models/toy-shapes/) where the package
 * is served as published (a CDN, a static copy of node_modules/qsched-gpu). An app that bundles qsched-gpu itself
 * serves that folder on its own and passes its URL.
 */
export function toyModelLocation(): string {
  return new URL("../../models/toy-shapes/", import.meta.url).href;
}

/**
 * Browsers have no folders: a path is a URL relative to the page (or worker), as fetch() would read it
 * ("./models/x/", "/models/x/").
 */
export async function folderSource(path: string, opts: { signal?: AbortSignal } = {}) {
  const base = (globalThis as { document?: { baseURI?: string } }).document?.baseURI ?? (globalThis as { location?: { href?: string } }).location?.href;
  if (!base) throw new Error(`"${path}" is not a URL; in a browser, load a model from a URL or from files the user picked (FileList)`);
  const { urlSource } = await import("../weights/sources/url-source.ts");
  return urlSource(new URL(path, base).href, { signal: opts.signal });
}

/** zlib deflate (PNG IDAT) with the browser's CompressionStream. */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where mesa-vulkan-drivers puts the lavapipe ICD (Debian without the architecture, upstream and Ubuntu with it), and Chromium's SwiftShader ICD. */
const LAVAPIPE_ICDS = ["/usr/share/vulkan/icd.d/lvp_icd.json", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", "/usr/share/vulkan/icd.d/lvp_icd.aarch64.json"];
const SWIFTSHADER_ICDS = ["/usr/lib/chromium/vk_swiftshader_icd.json", "/usr/lib/chromium-browser/vk_swiftshader_icd.json"];

import type { NodeAdapterChoice } from "../gpu/adapter-choice.ts";

/**
 * Points the Vulkan loader at a CPU driver when nothing else is configured: lavapipe first (f16,
 * subgroups, timestamps), SwiftShader as fallback. Must run before Dawn enumerates adapters.
 */
function chooseVulkanIcd(choice: NodeAdapterChoice): string | undefined {
  // The loader reads VK_DRIVER_FILES (its current name) before VK_ICD_FILENAMES; a user's choice in either stands.
  const stated = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  if (choice === "system" || (choice === "auto" && stated)) return stated;
  const candidates = choice === "swiftshader" ? SWIFTSHADER_ICDS : choice === "lavapipe" ? LAVAPIPE_ICDS : [...LAVAPIPE_ICDS, ...SWIFTSHADER_ICDS];
  const found = candidates.find((p) => existsSync(p));
  if (found) {
    // VK_DRIVER_FILES would win over the one we set: the explicit lavapipe/swiftshader choice replaces both.
    delete process.env.VK_DRIVER_FILES;
    process.env.VK_ICD_FILENAMES = found;
  }
  return found;
}

/**
 * Dawn rounds timestamp queries down to 65.536 µs by default (a browser's guard against timing attacks).
 * A whole step on a CPU adapter takes milliseconds and never noticed; on a GPU most kernels take less than
 * one such tick, so the profiler and the kernel benchmarks would read 0 or 65 µs. Node has no page to guard.
 */
const DAWN_FLAGS = ["disable-dawn-features=timestamp_quantization"];

let gpuPromise: Promise<{ gpu: GPU; icd?: string }> | undefined;

/** Node's `navigator.gpu`, from the `webgpu` package (Dawn). */
export async function platformGpu(choice: NodeAdapterChoice = "auto"): Promise<{ gpu: GPU; icd?: string }> {
  gpuPromise ??= (async () => {
    const icd = chooseVulkanIcd((process.env.QSCHED_ADAPTER as NodeAdapterChoice | undefined) ?? choice);
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      mod = (await import("webgpu")) as unknown as typeof mod;
    } catch (e) {
      throw new Error(`WebGPU for Node is missing: the "webgpu" package could not be loaded (${(e as Error).message}); run \`npm run setup\``);
    }
    // Dawn's classes (GPUBufferUsage, GPUMapMode, ...) are expected as globals by WebGPU code.
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    return { gpu: mod.create(DAWN_FLAGS), icd };
  })();
  return gpuPromise;
}

export const platformName = "node";

let shaderRoot: string | undefined;

/** Finds `shaders/` by walking up from this module (works from src/ and from dist/). */
function findShaderRoot(): string {
  if (shaderRoot) return shaderRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "shaders", "include"))) return (shaderRoot = join(dir, "shaders"));
    dir = dirname(dir);
  }
  throw new Error(`cannot find the shaders/ folder above ${fileURLToPath(import.meta.url)}`);
}

/** Reads a `.wgsl` file (path relative to shaders/) from disk. */
export function readShaderText(file: string): string {
  const path = join(findShaderRoot(), file);
  if (!existsSync(path)) throw new Error(`shader file shaders/${file} does not exist`);
  return readFileSync(path, "utf8");
}

/** A local diffusers folder as a checkpoint source (Node only). */
export async function folderSource(path: string) {
  const { nodeFolderSource } = await import("../weights/sources/node-folder-source.ts");
  return nodeFolderSource(path);
}

/** zlib deflate (PNG IDAT). */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const { deflateSync } = await import("node:zlib");
  return new Uint8Array(deflateSync(data, { level: 9 }));
}

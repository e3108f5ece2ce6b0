import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where mesa-vulkan-drivers puts the lavapipe ICD (Debian without the architecture, upstream and Ubuntu with it), and Chromium's SwiftShader ICD. */
const LAVAPIPE_ICDS = ["/usr/share/vulkan/icd.d/lvp_icd.json", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", "/usr/share/vulkan/icd.d/lvp_icd.aarch64.json"];
const SWIFTSHADER_ICDS = ["/usr/lib/chromium/vk_swiftshader_icd.json", "/usr/lib/chromium-browser/vk_swiftshader_icd.json"];

import type { NodeAdapterChoice } from "../gpu/adapter-choice.ts";

/**
 * Dawn rounds timestamp queries down to 65.536 µs by default (a browser's guard against timing attacks).
 * A whole step on a CPU adapter takes milliseconds and never noticed; on a GPU most kernels take less than
 * one such tick, so the profiler and the kernel benchmarks would read 0 or 65 µs. Node has no page to guard.
 */
const DAWN_FLAGS = ["disable-dawn-features=timestamp_quantization"];

type WebGpuModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
let modulePromise: Promise<WebGpuModule> | undefined;

/** The `webgpu` package (Dawn), loaded once; its classes (GPUBufferUsage, ...) become globals, as WebGPU code expects. */
function webgpuModule(): Promise<WebGpuModule> {
  modulePromise ??= (async () => {
    let mod: WebGpuModule;
    try {
      mod = (await import("webgpu")) as unknown as WebGpuModule;
    } catch (e) {
      modulePromise = undefined;
      throw new Error(`WebGPU for Node is missing: the "webgpu" package could not be loaded (${(e as Error).message}); install it beside qsched-gpu (\`npm install webgpu\`)`);
    }
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    return mod;
  })();
  return modulePromise;
}

/** One Dawn instance per Vulkan driver choice ("system": whatever the loader finds). */
const instances = new Map<string, Promise<PlatformGpu>>();

export interface PlatformGpu {
  gpu: GPU;
  /** The Vulkan driver file we pointed the loader at, or the user's VK_DRIVER_FILES / VK_ICD_FILENAMES. */
  icd?: string;
  /** "auto" on the system loader: the CPU drivers to try when it offers no adapter. */
  fallback?: () => Promise<PlatformGpu>;
}

/** The user's own driver variables, read before we set any. */
let userDrivers: { VK_DRIVER_FILES?: string; VK_ICD_FILENAMES?: string } | undefined;
function saveUserDrivers() {
  userDrivers ??= { VK_DRIVER_FILES: process.env.VK_DRIVER_FILES, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES };
  return userDrivers;
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function instance(key: string, icd: string | undefined, pointLoader: boolean): Promise<PlatformGpu> {
  let p = instances.get(key);
  if (!p) {
    p = webgpuModule().then(async (mod) => {
      const user = saveUserDrivers();
      // The loader reads these when Dawn first enumerates adapters: point it at our driver (VK_DRIVER_FILES would win
      // over VK_ICD_FILENAMES), or give it back the user's settings for the system's choice.
      setEnv("VK_DRIVER_FILES", pointLoader ? undefined : user.VK_DRIVER_FILES);
      setEnv("VK_ICD_FILENAMES", pointLoader ? icd : user.VK_ICD_FILENAMES);
      const gpu = mod.create(DAWN_FLAGS);
      await gpu.requestAdapter(); // enumerate now, under these settings
      return { gpu, icd };
    });
    p.catch(() => instances.delete(key));
    instances.set(key, p);
  }
  return p;
}

/** A CPU driver of the list that is installed, or the system loader when none is. */
function cpuDriver(candidates: readonly string[]): Promise<PlatformGpu> {
  const found = candidates.find((p) => existsSync(p));
  return found ? instance(found, found, true) : instance("system", undefined, false);
}

/**
 * Node's `navigator.gpu`, from the `webgpu` package (Dawn), on the Vulkan driver asked for (else $QSCHED_ADAPTER):
 * - "auto" (default): the driver the user named in VK_DRIVER_FILES / VK_ICD_FILENAMES, else the system's Vulkan
 *   loader (a real GPU where there is one: Dawn prefers it to a CPU driver), and only when that offers no adapter,
 *   lavapipe, then Chromium's SwiftShader;
 * - "lavapipe" / "swiftshader": that CPU driver (lavapipe has f16, subgroups and timestamps; SwiftShader has none);
 * - "system": the loader's own choice, whatever is installed.
 */
export async function platformGpu(choice?: NodeAdapterChoice): Promise<PlatformGpu> {
  const c = choice || (process.env.QSCHED_ADAPTER as NodeAdapterChoice | undefined) || "auto";
  const user = saveUserDrivers();
  const stated = user.VK_DRIVER_FILES || user.VK_ICD_FILENAMES;
  switch (c) {
    case "lavapipe":
      return cpuDriver(LAVAPIPE_ICDS);
    case "swiftshader":
      return cpuDriver(SWIFTSHADER_ICDS);
    case "system":
      return { ...(await instance("system", undefined, false)), icd: stated };
    case "auto":
      if (stated) return { ...(await instance("system", undefined, false)), icd: stated };
      return { ...(await instance("system", undefined, false)), fallback: () => cpuDriver([...LAVAPIPE_ICDS, ...SWIFTSHADER_ICDS]) };
    default:
      throw new Error(`QSCHED_ADAPTER / adapter must be auto, lavapipe, swiftshader or system, found ${JSON.stringify(c)}`);
  }
}

export const platformName = "node";

/** Marks code running inside a call (Gpu.exclusive), across its awaits; null where the platform cannot (browsers). */
export function asyncMarker(): { run<T>(fn: () => T): T; active(): boolean } | null {
  const store = new AsyncLocalStorage<true>();
  return { run: (fn) => store.run(true, fn), active: () => store.getStore() === true };
}

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

/** The embedded toy-shapes pipeline (models/toy-shapes in the package): its folder, found above this module. */
export function toyModelLocation(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, "models", "toy-shapes");
    if (existsSync(join(p, "model_index.json"))) return p;
    dir = dirname(dir);
  }
  throw new Error(`the embedded toy-shapes model (models/toy-shapes) is not above ${fileURLToPath(import.meta.url)}: this copy of qsched-gpu was installed or bundled without it`);
}

/** A local diffusers folder as a checkpoint source (Node only; files are read in one go, so no signal is needed). */
export async function folderSource(path: string, _opts: { signal?: AbortSignal } = {}) {
  const { nodeFolderSource } = await import("../weights/sources/node-folder-source.ts");
  return nodeFolderSource(path);
}

/** zlib deflate (PNG IDAT). */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const { deflateSync } = await import("node:zlib");
  return new Uint8Array(deflateSync(data, { level: 9 }));
}

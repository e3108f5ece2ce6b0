import { platformGpu, platformName } from "#platform";
import type { NodeAdapterChoice } from "./adapter-choice.ts";
import { GpuDeviceError } from "./errors.ts";

/** Optional features we use when the adapter has them. */
const WANTED_FEATURES = ["shader-f16", "subgroups", "timestamp-query"] as const;

/** Limits we raise to the adapter's maximum (big weight tensors, big workgroup tiles). */
const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const;

export interface GpuCapabilities {
  f16: boolean;
  subgroups: boolean;
  /** Adapter's subgroup size range [min, max] when it reports one (lavapipe 256-bit: [8, 8]). */
  subgroupSizes?: [number, number];
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, or any fallback adapter): kernels pick CPU-tuned variants. */
  cpu: boolean;
  timestamps: boolean;
  /** All features the device was created with. */
  features: string[];
  limits: Record<(typeof WANTED_LIMITS)[number] | "minStorageBufferOffsetAlignment" | "minUniformBufferOffsetAlignment", number>;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  platform: string;
  /** Node: the Vulkan driver file in use when one was named (ours for lavapipe/SwiftShader, or the user's); unset on the system loader's own choice. */
  icd?: string;
}

export interface DeviceOptions {
  /**
   * Node only: which Vulkan driver to use. Default: $QSCHED_ADAPTER, else "auto", the system's (a GPU where
   * there is one), falling back to lavapipe, then SwiftShader, when it offers no adapter.
   */
  adapter?: NodeAdapterChoice;
  /** Do not request shader-f16 even when present (tests the f32 path). */
  disableF16?: boolean;
  /**
   * "adapter" (the default) raises the limits we use to the adapter's maximum; "default" keeps WebGPU's default
   * limits (16 KiB of workgroup memory, 256 invocations, 128 MiB bindings, 256 MiB buffers), the least any conformant
   * device offers: a run that passes there runs on every device. $QSCHED_LIMITS=default sets it for the CLI.
   */
  limits?: "adapter" | "default";
  powerPreference?: GPUPowerPreference;
}

/**
 * A WebGPU device plus what we know about it. Device loss and uncaptured errors are recorded and
 * re-thrown by `check()`, which every submit and read-back calls, so they surface as errors with
 * context instead of hangs or silent garbage.
 */
export class GpuContext {
  private failure: GpuDeviceError | undefined;
  lost = false;

  constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCapabilities,
  ) {
    const onError = (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.failure ??= new GpuDeviceError(`uncaptured WebGPU ${err.constructor?.name ?? "error"}: ${err.message}`);
    };
    device.addEventListener("uncapturederror", onError);
    device.lost.then((info) => {
      this.lost = true;
      if (info.reason !== "destroyed") this.failure ??= new GpuDeviceError(`WebGPU device lost (${info.reason}): ${info.message}`);
      // The listener holds this context and so the device: Dawn's Node binding keeps listeners strongly, and a
      // destroyed or lost device (with its driver threads) was never collected.
      device.removeEventListener("uncapturederror", onError);
    });
  }

  /** Throws the first recorded device failure, naming what we were doing. */
  check(during: string): void {
    if (this.failure) {
      const f = this.failure;
      throw new GpuDeviceError(`${f.message} (noticed during ${during}); this device is unusable now: dispose the pipeline and load it again`);
    }
    if (this.lost) throw new GpuDeviceError(`WebGPU device was destroyed (during ${during})`);
  }

  /** False once the device was lost or hit an uncaptured error: nothing more can run on it. */
  get usable(): boolean {
    return !this.lost && !this.failure;
  }

  /** One line for logs: adapter, driver, features. */
  describe(): string {
    const a = this.caps.adapter;
    const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(" ") || "unknown adapter";
    return `${name} [${this.caps.platform}${this.caps.icd ? `, ${this.caps.icd.split("/").pop()}` : ""}] f16=${this.caps.f16} subgroups=${this.caps.subgroups} timestamps=${this.caps.timestamps}`;
  }

  destroy(): void {
    this.device.destroy();
  }
}

/** Shared devices by their options (see getDevice); `ctx` once created. */
const shared = new Map<string, { promise: Promise<GpuContext>; ctx?: GpuContext }>();

/**
 * The process-wide shared device for these options (created on first use). A shared device that was lost (a GPU
 * process crash, a driver reset, a backgrounded mobile tab) or hit an uncaptured error is replaced by a new one, so
 * the next pipeline works without a page reload; pipelines still on the old one fail, naming the cause.
 */
export function getDevice(options: DeviceOptions = {}): Promise<GpuContext> {
  // Spelled-out defaults name the same device as omitted ones.
  const { adapter, disableF16, limits, powerPreference } = options;
  const key = JSON.stringify({
    adapter: adapter === "auto" ? undefined : adapter,
    disableF16: disableF16 || undefined,
    limits: limits === "adapter" ? undefined : limits,
    powerPreference: powerPreference === "high-performance" ? undefined : powerPreference,
  });
  const cached = shared.get(key);
  if (cached && (!cached.ctx || cached.ctx.usable)) return cached.promise;
  const entry: { promise: Promise<GpuContext>; ctx?: GpuContext } = {
    promise: createDevice(options).then(
      (ctx) => (entry.ctx = ctx),
      (e) => {
        if (shared.get(key) === entry) shared.delete(key);
        throw e;
      },
    ),
  };
  shared.set(key, entry);
  return entry.promise;
}

/** A new device, independent of the shared one. */
export async function createDevice(options: DeviceOptions = {}): Promise<GpuContext> {
  const powerPreference = options.powerPreference ?? "high-performance";
  let platform = await platformGpu(options.adapter);
  let adapter = await platform.gpu.requestAdapter({ powerPreference });
  if (!adapter && platform.fallback) {
    // The system's Vulkan loader found nothing Dawn accepts (no GPU, or only an old Mesa): try the CPU drivers.
    platform = await platform.fallback();
    adapter = await platform.gpu.requestAdapter({ powerPreference });
  }
  const icd = platform.icd;
  if (!adapter) {
    throw new GpuDeviceError(
      `no WebGPU adapter on ${platformName}` +
        (platformName === "node" ? ` (Vulkan driver: ${icd ?? "none found"}; ${icd ? "check that this driver loads, or point VK_ICD_FILENAMES at another" : "run `npm run setup` to install lavapipe"})` : ""),
    );
  }
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f) && !(f === "shader-f16" && options.disableF16));
  const limitsChoice = options.limits ?? envLimits();
  const requiredLimits: Record<string, number> = {};
  if (limitsChoice === "adapter") for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures: features as GPUFeatureName[], requiredLimits });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const limits = {} as GpuCapabilities["limits"];
  for (const name of [...WANTED_LIMITS, "minStorageBufferOffsetAlignment", "minUniformBufferOffsetAlignment"] as const) {
    limits[name] = device.limits[name];
  }
  const caps: GpuCapabilities = {
    f16: device.features.has("shader-f16"),
    subgroups: device.features.has("subgroups"),
    subgroupSizes: subgroupSizes(info),
    cpu: isCpuAdapter(info),
    timestamps: device.features.has("timestamp-query"),
    features: [...device.features].sort(),
    limits,
    adapter: { vendor: info.vendor ?? "", architecture: info.architecture ?? "", device: info.device ?? "", description: info.description ?? "" },
    platform: platformName,
    icd,
  };
  return new GpuContext(device, caps);
}

/** $QSCHED_LIMITS in Node ("default" or "adapter"); browsers have no environment. */
function envLimits(): "adapter" | "default" {
  const v = typeof process !== "undefined" ? process.env?.QSCHED_LIMITS : undefined;
  if (v === undefined || v === "" || v === "adapter") return "adapter";
  if (v === "default") return "default";
  throw new GpuDeviceError(`QSCHED_LIMITS must be "default" or "adapter", found "${v}"`);
}

function subgroupSizes(info: GPUAdapterInfo): [number, number] | undefined {
  const i = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return i.subgroupMinSize && i.subgroupMaxSize ? [i.subgroupMinSize, i.subgroupMaxSize] : undefined;
}

/** Software rasterizers: the fallback flag where the browser sets it, else the driver's name. */
function isCpuAdapter(info: GPUAdapterInfo): boolean {
  const i = info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  if (i.isFallbackAdapter) return true;
  return /llvmpipe|lavapipe|swiftshader|software/i.test([info.vendor, info.architecture, info.device, info.description].join(" "));
}

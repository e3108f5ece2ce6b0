import type { Tensor } from "../gpu/tensor.ts";

/** The UNet quantizations a pipeline loads ("none": float weights). */
export const QUANT_SCHEMES = ["none", "w8a8", "w4a8", "w8a16", "w4a16"] as const;
export type QuantScheme = (typeof QUANT_SCHEMES)[number];

/** Q-Sched setting: explicit (m, s) endpoints, a coefficient file's JSON, or "auto" (the pack's file if any). */
export type QSchedOption = { m: number; s: number } | { modelCoeff: number[]; sampleCoeff: number[] } | string | "auto" | null;

export interface LoadProgress {
  phase: "download" | "upload" | "quantize";
  component: string;
  bytesDone: number;
  bytesTotal?: number;
}

export interface FromPretrainedOptions {
  quant?: QuantScheme;
  /** Which UNet weights `quant` applies to: torchao's nn.Linear set (default) or `all` (convolutions too). */
  policy?: "torchao" | "all";
  /**
   * GPU storage of the quantized UNet's scales: "f32" (default, exactly the quantizer's) or "f16" (half
   * their bytes, e.g. for policy "all" W4A8: 1 → 0.5 bit per weight; values rounded once to f16).
   */
  scaleStorage?: "f32" | "f16";
  qsched?: QSchedOption;
  /**
   * Storage type of the models' weights and activations: "f32" (default) or "f16" (half the memory;
   * needs the adapter feature shader-f16, else fromPretrained throws). Math inside kernels stays f32,
   * latents and the scheduler step stay f32, and a VAE with `force_upcast` (SDXL's) stays f32.
   */
  dtype?: "f32" | "f16";
  /**
   * Weight file variant, as diffusers' `variant`: "fp16" reads `*.fp16.safetensors` (the Hub's half-size files; the
   * weights are widened to `dtype` on upload). Every component must have it.
   */
  variant?: string;
  onProgress?: (p: LoadProgress) => void;
  /**
   * Run on this Gpu (device + buffer pool) instead of a new one on the shared device, e.g. to share
   * kernels between pipelines or to watch `gpu.pool` bytes. dispose() frees the pipeline's buffers only.
   */
  gpu?: import("../gpu/runtime.ts").Gpu;
  /** Node: which Vulkan driver; browsers ignore it. */
  adapter?: "auto" | "lavapipe" | "swiftshader" | "system";
  signal?: AbortSignal;
}

export interface GenerateOptions {
  prompt: string | string[];
  negativePrompt?: string | string[];
  steps?: number;
  guidanceScale?: number;
  seed?: number | bigint;
  width?: number;
  height?: number;
  /** Images per prompt (only with a single prompt). */
  batchSize?: number;
  /**
   * TCD's gamma (diffusers' `eta`), in [0, 1]: how much noise each step adds back. Default 0, what diffusers'
   * SD and SDXL pipelines pass; TCD's own examples use 0.3. Other schedulers ignore it, as in diffusers.
   */
  eta?: number;
  signal?: AbortSignal;
  /**
   * After each denoising step (awaited). It runs inside the call, which holds the pipeline's Gpu: another generate()
   * on the same Gpu started from here is refused in Node, and in browsers, awaited, would wait forever (it queues
   * behind this call).
   */
  onStep?: (e: StepEvent) => void | Promise<void>;
  /**
   * Decode each step's x0 prediction into `StepEvent.preview` (TAESD when the pipeline has one, see
   * `loadPreviewDecoder`, else the pipeline's VAE). Costs one decode per step.
   */
  preview?: boolean;
  /**
   * The final decode: "vae" (default, the pipeline's AutoencoderKL) or "taesd", the TAESD loaded by
   * `loadPreviewDecoder` (diffusers' `pipe.vae = AutoencoderTiny`): approximate, and far less work — on CPU adapters
   * the VAE's 512² decode costs about three UNet steps.
   */
  decoder?: "vae" | "taesd";
  /**
   * Progress of the VAE's final decode, stage by stage (conv_in, mid block, up blocks, conv_out); at full size on
   * CPU adapters it takes minutes. Each report waits for the GPU, so it costs a sync per stage.
   */
  onDecode?: (p: DecodeProgress) => void;
  /** Also return the final images on the GPU as `GenerateResult.rgba` (the caller disposes it). */
  keepRgba?: boolean;
  /**
   * Debug: run the UNet dispatch by dispatch and throw at the first NaN/Inf, naming the UNet module and the
   * kernel that produced it (slow: one submit and read-back per dispatch).
   */
  checkFinite?: boolean;
  /** @internal false = dispatch the UNet eagerly each step instead of replaying a recorded plan (tests compare the two). */
  unetPlan?: boolean;
  /** @internal Receives every intermediate by its diffusers trace name (the verifier uses it). */
  trace?: (name: string, value: Tensor | Float32Array | Int32Array) => Promise<void>;
}

export interface DecodeProgress {
  /** The stage just finished, e.g. "decoder.up_blocks.2". */
  module: string;
  done: number;
  total: number;
}

export interface StepEvent {
  step: number;
  steps: number;
  timestep: number;
  /** Time of this step (UNet and scheduler, not the preview decode). */
  elapsedMs: number;
  /** With `generate({ preview: true })`: the step's x0 prediction decoded, one image per batch entry. */
  preview?: GeneratedImage[];
}

export interface GeneratedImage {
  width: number;
  height: number;
  /** RGBA8, row-major, alpha 255. */
  data: Uint8ClampedArray;
}

export interface GenerateResult {
  images: GeneratedImage[];
  seed: number | bigint;
  timings: { textMs: number; denoiseMs: number; decodeMs: number; totalMs: number; stepMs: number[] };
  /** With `keepRgba`: the images as RGBA8 on the GPU, [B, H, W] u32 (R in the low byte); the caller disposes it. */
  rgba?: Tensor;
  /** Peak bytes the buffer pool handed out during this call. */
  peakBytes: number;
}

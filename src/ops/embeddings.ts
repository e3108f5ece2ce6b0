import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";

/**
 * Sinusoidal embeddings (diffusers semantics). Their sin/cos arguments reach thousands of radians,
 * where WGSL sin/cos are not accurate, and they are tiny ([B, dim]); so they are computed on the CPU
 * and uploaded. Frequencies and arguments are rounded to float32 exactly where diffusers computes
 * in float32 (so the model sees the values it was trained with); sin/cos then run in float64.
 */

const f32 = Math.fround;

export interface TimestepEmbeddingOptions {
  /** Output [cos, sin] instead of [sin, cos] (SD UNet: true). */
  flipSinToCos: boolean;
  /** Frequencies exp(−ln(maxPeriod)·i / (half − shift)) (SD UNet: 0; some models 1). */
  downscaleFreqShift: number;
  /** Multiplier on the arguments (diffusers `scale`, default 1). */
  scale?: number;
  /** diffusers `max_period`, default 10000. */
  maxPeriod?: number;
  /**
   * @internal Test-only: rounds each sin/cos argument (e.g. to f16, what computing the embedding on the
   * GPU in half precision would do) to show that the float64 host computation matters.
   */
  roundArgument?: (a: number) => number;
}

function checkDim(op: string, dim: number, min: number): void {
  if (!Number.isInteger(dim) || dim < min) throw new OpInputError(op, `embedding dim must be an integer ≥ ${min}, got ${dim}`);
}

/** diffusers get_timestep_embedding on the CPU: [timesteps.length, dim] row-major. */
export function timestepEmbeddingHost(timesteps: ArrayLike<number>, dim: number, opts: TimestepEmbeddingOptions): Float32Array {
  checkDim("timestepEmbedding", dim, 2);
  const half = Math.floor(dim / 2);
  const shift = opts.downscaleFreqShift;
  if (half - shift === 0) throw new OpInputError("timestepEmbedding", `half dim ${half} − downscaleFreqShift ${shift} is 0`);
  const negLog = f32(-Math.log(opts.maxPeriod ?? 10000));
  const scale = opts.scale ?? 1;
  // diffusers: exponent = −ln(P)·arange(half) / (half − shift), exp, all float32.
  const freqs = Array.from({ length: half }, (_, i) => f32(Math.exp(f32(f32(negLog * i) / (half - shift)))));
  const out = new Float32Array(timesteps.length * dim);
  for (let b = 0; b < timesteps.length; b++) {
    const t = f32(timesteps[b]!);
    const row = b * dim;
    for (let i = 0; i < half; i++) {
      const a = (opts.roundArgument ?? f32)(f32(scale * f32(t * freqs[i]!)));
      const [first, second] = opts.flipSinToCos ? [Math.cos(a), Math.sin(a)] : [Math.sin(a), Math.cos(a)];
      out[row + i] = first;
      out[row + half + i] = second;
    }
    // An odd dim gets one zero column at the end (diffusers pads).
  }
  return out;
}

/**
 * Timestep embedding [B, dim] on the GPU for timesteps t[B], stored as `dtype` (an f16 model gets its
 * values computed in float64 as above and rounded once, like diffusers' `t_emb.to(sample.dtype)`).
 */
export function timestepEmbedding(gpu: Gpu, timesteps: ArrayLike<number>, dim: number, opts: TimestepEmbeddingOptions, dtype: "f32" | "f16" = "f32"): Tensor {
  return gpu.upload(timestepEmbeddingHost(timesteps, dim, opts), [timesteps.length, dim], dtype, "timestep_embedding");
}

/** SDXL add_time_proj: time_ids [B, 6] (row-major) each embedded at `dim` → [B, 6·dim], stored as `dtype`. */
export function addTimeEmbedding(
  gpu: Gpu,
  timeIds: ArrayLike<number>,
  batch: number,
  dim = 256,
  opts: TimestepEmbeddingOptions = { flipSinToCos: true, downscaleFreqShift: 0 },
  dtype: "f32" | "f16" = "f32",
): Tensor {
  if (timeIds.length % batch !== 0 || batch < 1) throw new OpInputError("addTimeEmbedding", `time_ids has ${timeIds.length} values, not a multiple of batch ${batch}`);
  const perRow = timeIds.length / batch;
  // The flattened [B·6, dim] embedding is already row-major [B, 6·dim].
  return gpu.upload(timestepEmbeddingHost(timeIds, dim, opts), [batch, perRow * dim], dtype, "add_time_embedding");
}

/**
 * LCM get_guidance_scale_embedding on the CPU for w (= guidance_scale − 1, as the pipeline passes):
 * [sin(a), cos(a)] with a = 1000·w·exp(−i·c), c = ln(10000)/(half − 1) as a float32 scalar.
 */
export function guidanceScaleEmbeddingHost(w: ArrayLike<number>, dim: number): Float32Array {
  checkDim("guidanceScaleEmbedding", dim, 4);
  const half = Math.floor(dim / 2);
  const c = f32(f32(Math.log(10000)) / (half - 1));
  const freqs = Array.from({ length: half }, (_, i) => f32(Math.exp(f32(i * -c))));
  const out = new Float32Array(w.length * dim);
  for (let b = 0; b < w.length; b++) {
    const wk = f32(f32(w[b]!) * 1000);
    for (let i = 0; i < half; i++) {
      const a = f32(wk * freqs[i]!);
      out[b * dim + i] = Math.sin(a);
      out[b * dim + half + i] = Math.cos(a);
    }
  }
  return out;
}

/** Guidance-scale embedding [B, dim] on the GPU, stored as `dtype` (computed in float64 either way). */
export function guidanceScaleEmbedding(gpu: Gpu, w: ArrayLike<number>, dim: number, dtype: "f32" | "f16" = "f32"): Tensor {
  return gpu.upload(guidanceScaleEmbeddingHost(w, dim), [w.length, dim], dtype, "guidance_embedding");
}

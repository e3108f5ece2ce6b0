import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { floatDType, gridFor, sameDType, shapeStr, type FloatDType } from "./common.ts";

/** Threads per workgroup of the norm kernels: one workgroup reduces one group or row. */
const NORM_WG = 256;

export const groupNormKernel = defineKernel<{ dtype: FloatDType; silu: boolean; wg: number }>({
  name: "group_norm",
  file: "group_norm.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${k.wg}u`, SILU: k.silu }),
  label: (k) => `group_norm${k.silu ? "_silu" : ""}_${k.dtype}${k.wg !== NORM_WG ? `_wg${k.wg}` : ""}`,
});

/** GroupNorm split over workgroups (GPUs): chunk statistics, then merge + normalize (group_norm_chunk_stats/apply.wgsl). */
export const groupNormChunkStatsKernel = defineKernel<{ dtype: FloatDType }>({
  name: "group_norm_chunk_stats",
  file: "group_norm_chunk_stats.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${NORM_WG}u` }),
  label: (k) => `group_norm_chunk_stats_${k.dtype}`,
});
export const groupNormApplyKernel = defineKernel<{ dtype: FloatDType; silu: boolean }>({
  name: "group_norm_apply",
  file: "group_norm_apply.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${NORM_WG}u`, SILU: k.silu }),
  label: (k) => `group_norm_apply${k.silu ? "_silu" : ""}_${k.dtype}`,
});
/**
 * GPUs split a group into chunks of this many values when (groups × N) workgroups are fewer than
 * GROUP_NORM_SPLIT_BELOW and a group holds two chunks or more: SD's 32 groups at batch 1–2 are 32–64 workgroups, and
 * the H200 spent 56 µs per call on them (61 calls a step; a 64² 320-channel norm moves ~16 MB, ≈ 11 µs at its
 * bandwidth). At 64² with 320 channels: 10 chunks per group, 320 workgroups.
 */
export const GROUP_NORM_CHUNK = 4096;
export const GROUP_NORM_SPLIT_BELOW = 128;

/** Rows per workgroup of the one-thread-per-row layer norm (CPU adapters): 8 keeps 77-token rows on both cores. */
const LAYER_NORM_SERIAL_WG = 8;
/** Group norm's threads per group on CPU adapters: few enough that the reduction tree has 3 barriers, not 8. */
const GROUP_NORM_CPU_THREADS = 8;

export const layerNormKernel = defineKernel<{ dtype: FloatDType; affine: boolean; serialRows: boolean }>({
  name: "layer_norm",
  file: "layer_norm.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${k.serialRows ? LAYER_NORM_SERIAL_WG : NORM_WG}u`, AFFINE: k.affine, SERIAL_ROWS: k.serialRows }),
  label: (k) => `layer_norm${k.affine ? "_affine" : ""}_${k.dtype}${k.serialRows ? "_serial" : ""}`,
});

export interface GroupNormOptions {
  groups: number;
  eps: number;
  /** Apply SiLU after the affine (diffusers ResnetBlock2D's norm → nonlinearity). */
  silu?: boolean;
  /**
   * Threads per group, a power of two up to 256. Default: 8 on CPU adapters, where each of the tree's barriers is a
   * context switch (toy UNet group_norm_silu: lavapipe 26 → 7 ms, SwiftShader 485 → 32 ms), 256 elsewhere.
   */
  threads?: number;
  /**
   * Values per workgroup when a group is split over workgroups (tests). Default: GROUP_NORM_CHUNK on GPUs where the
   * rule above splits, else no split (CPU adapters never split: their few cores are full).
   */
  chunk?: number;
}

function expectVector(op: string, name: string, t: Tensor, n: number): void {
  if (t.rank !== 1 || t.shape[0] !== n) throw new OpInputError(op, `${name} must have shape [${n}], got ${shapeStr(t.shape)}`);
}

/** GroupNorm of x [N, C, H, W] (or [N, C]): biased variance over (C/G, H, W), affine per channel. */
export async function groupNorm(gpu: Gpu, x: Tensor, gamma: Tensor, beta: Tensor, opts: GroupNormOptions): Promise<Tensor> {
  const op = opts.silu ? "groupNormSilu" : "groupNorm";
  const dtype = floatDType(gpu, op, "x", x);
  sameDType(op, { x, gamma, beta });
  if (x.rank < 2 || x.rank > 4) throw new OpInputError(op, `x must be [N, C, H, W] (rank 2-4), got shape ${shapeStr(x.shape)}`);
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  const { groups } = opts;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new OpInputError(op, `channels ${c} are not divisible by groups ${groups}`);
  }
  expectVector(op, "gamma", gamma, c);
  expectVector(op, "beta", beta, c);
  const hw = x.numel / Math.max(n * c, 1);
  const wg = opts.threads ?? (gpu.ctx.caps.cpu ? GROUP_NORM_CPU_THREADS : NORM_WG);
  if (!Number.isInteger(wg) || wg < 1 || wg > NORM_WG || (wg & (wg - 1)) !== 0) throw new OpInputError(op, `threads must be a power of two up to ${NORM_WG}, got ${wg}`);
  if (opts.chunk !== undefined && (!Number.isInteger(opts.chunk) || opts.chunk < 1)) throw new OpInputError(op, `chunk must be a positive integer, got ${opts.chunk}`);
  const groupLen = (c / groups) * hw;
  const split = !gpu.ctx.caps.cpu && groups * n < GROUP_NORM_SPLIT_BELOW && groupLen >= 2 * GROUP_NORM_CHUNK;
  const chunk = opts.chunk ?? (split ? GROUP_NORM_CHUNK : undefined);
  if (chunk !== undefined && x.numel > 0) return groupNormChunked(gpu, x, gamma, beta, opts, dtype, n, hw, Math.min(chunk, groupLen));
  const k = await gpu.kernel(groupNormKernel, { dtype, silu: !!opts.silu, wg });
  const y = gpu.empty(x.shape, dtype, op);
  gpu.dispatch(k, { x, gamma, beta, y }, { groups, channels_per_group: c / groups, hw, eps: opts.eps }, [groups, n, 1]);
  return y;
}

/** GroupNorm over chunks of `chunk` values per workgroup: statistics per chunk, then merge and normalize. */
async function groupNormChunked(gpu: Gpu, x: Tensor, gamma: Tensor, beta: Tensor, opts: GroupNormOptions, dtype: FloatDType, n: number, hw: number, chunk: number): Promise<Tensor> {
  const { groups } = opts;
  const cpg = x.shape[1]! / groups;
  const groupLen = cpg * hw;
  // Chunks go along grid x: at most maxComputeWorkgroupsPerDimension of them.
  chunk = Math.max(chunk, Math.ceil(groupLen / gpu.ctx.caps.limits.maxComputeWorkgroupsPerDimension));
  const chunks = Math.ceil(groupLen / chunk);
  const grid = [chunks, groups, n];
  const stats = gpu.empty([n, groups, chunks, 2], "f32", "group_norm_stats");
  try {
    const uniforms = { groups, group_len: groupLen, chunk_len: chunk, chunks };
    gpu.dispatch(await gpu.kernel(groupNormChunkStatsKernel, { dtype }), { x, stats }, uniforms, grid);
    const y = gpu.empty(x.shape, dtype, opts.silu ? "groupNormSilu" : "groupNorm");
    const apply = await gpu.kernel(groupNormApplyKernel, { dtype, silu: !!opts.silu });
    gpu.dispatch(apply, { x, stats, gamma, beta, y }, { ...uniforms, channels_per_group: cpg, hw, eps: opts.eps }, grid);
    return y;
  } finally {
    stats.dispose();
  }
}

/** GroupNorm followed by SiLU, fused. */
export const groupNormSilu = (gpu: Gpu, x: Tensor, gamma: Tensor, beta: Tensor, opts: Omit<GroupNormOptions, "silu">) =>
  groupNorm(gpu, x, gamma, beta, { ...opts, silu: true });

/**
 * LayerNorm over the last dim of x [..., C] (biased variance); gamma/beta [C] both or neither. CPU adapters run one
 * thread per row (no barriers); `opts.serialRows` pins the kernel for tests.
 */
export async function layerNorm(gpu: Gpu, x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number, opts: { serialRows?: boolean } = {}): Promise<Tensor> {
  const dtype = floatDType(gpu, "layerNorm", "x", x);
  if (x.rank < 1) throw new OpInputError("layerNorm", "x must have at least one dim");
  if (!gamma !== !beta) throw new OpInputError("layerNorm", `gamma and beta come together; got ${gamma ? "gamma" : "beta"} only`);
  const cols = x.shape[x.rank - 1]!;
  if (gamma && beta) {
    sameDType("layerNorm", { x, gamma, beta });
    expectVector("layerNorm", "gamma", gamma, cols);
    expectVector("layerNorm", "beta", beta, cols);
  }
  const rows = x.numel / Math.max(cols, 1);
  const serialRows = opts.serialRows ?? gpu.ctx.caps.cpu;
  const k = await gpu.kernel(layerNormKernel, { dtype, affine: !!gamma, serialRows });
  const y = gpu.empty(x.shape, dtype, "layerNorm");
  if (cols === 0) return y;
  gpu.dispatch(k, gamma && beta ? { x, y, gamma, beta } : { x, y }, { rows, cols, eps }, gridFor(gpu, rows, serialRows ? LAYER_NORM_SERIAL_WG : 1));
  return y;
}

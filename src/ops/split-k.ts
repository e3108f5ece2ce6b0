/**
 * Split-K: a tiled kernel whose output has too few workgroups to fill a GPU (a conv at SD's 8²–32² levels: 20–80
 * workgroups of 128×64 outputs, while an H200 has 132 SMs, each wanting several) sums `slices` ranges of K in
 * separate workgroups, each into its own f32 copy of the output, and split_k_sum.wgsl adds the copies. The extra
 * traffic is slices × the output twice, small next to the K-long products it parallelizes.
 *
 * The rule is for GPUs only: CPU adapters (lavapipe, SwiftShader) run other kernels for these shapes and have a few
 * cores that any grid fills.
 */
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { CompiledKernel } from "../gpu/kernel-registry.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ACTIVATION_IDS, type Activation } from "./activation.ts";
import { ELEMENTWISE_WG, gridFor, type FloatDType } from "./common.ts";

/** Below this many output workgroups a GPU kernel is split (a grid that fills ~1 workgroup per SM of a large GPU is left alone). */
export const SPLIT_K_BELOW_WORKGROUPS = 128;
/** Workgroups a split aims for: about two per SM of a large GPU; on a small GPU (8–30 cores) every grid here fills it. */
export const SPLIT_K_TARGET_WORKGROUPS = 256;
/** Each slice keeps at least this many K tiles, so its loads and the extra output pass stay small against its FMAs. */
export const SPLIT_K_MIN_SLICE_TILES = 8;

/** The number of K slices for a kernel of `workgroups` output workgroups and `kTiles` K tiles, by the rule above. */
export function autoSplitK(workgroups: number, kTiles: number): number {
  if (workgroups >= SPLIT_K_BELOW_WORKGROUPS) return 1;
  return Math.max(1, Math.min(Math.ceil(SPLIT_K_TARGET_WORKGROUPS / workgroups), Math.floor(kTiles / SPLIT_K_MIN_SLICE_TILES)));
}

/**
 * `requested` slices of `kTiles` tiles as whole tiles per slice: at most one slice per tile, no empty slice, and
 * few enough that `slices × partialBytes` fits one storage binding (else no split). Returns the slice count actually
 * used and the tiles per slice.
 */
export function kSlices(gpu: Gpu, requested: number, kTiles: number, partialBytes: number): { slices: number; sliceTiles: number } {
  const byBinding = Math.floor(gpu.ctx.caps.limits.maxStorageBufferBindingSize / Math.max(partialBytes, 1));
  if (kTiles <= 1) return { slices: 1, sliceTiles: Math.max(kTiles, 1) };
  const wanted = Math.max(1, Math.min(Math.floor(requested), kTiles, byBinding));
  const sliceTiles = Math.ceil(kTiles / wanted);
  return { slices: Math.ceil(kTiles / sliceTiles), sliceTiles };
}

interface SplitKSumKey {
  dtype: FloatDType;
  bias: boolean;
  residual: boolean;
}

export const splitKSumKernel = defineKernel<SplitKSumKey>({
  name: "split_k_sum",
  file: "split_k_sum.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u`, HAS_BIAS: k.bias, HAS_RESIDUAL: k.residual, ACT_RUNTIME: true }),
  label: (k) => `split_k_sum${k.bias ? "_bias" : ""}${k.residual ? "_residual" : ""}_${k.dtype}`,
});

/** What the split kernel left out: y = act(sum + bias[(i / inner) % channels]) + residual[i]. */
export interface SplitKEpilogue {
  bias?: Tensor | null;
  residual?: Tensor | null;
  act?: Activation | "none";
  /** Elements per channel step: H·W for NCHW convs, 1 for linears. */
  inner: number;
  channels: number;
}

/**
 * Runs a kernel compiled with SPLIT_K: `grid` covers the output once per K slice, and each slice writes its raw f32
 * sums to its own copy of y, bound as `y`. Then one pass adds the `slices` copies and applies the epilogue `e`,
 * giving y of `shape` in `dtype`. The copies go back to the pool right after that pass.
 */
export async function runSplitK(
  gpu: Gpu, kernel: CompiledKernel, operands: Record<string, Tensor>, uniforms: Record<string, number>, grid: readonly number[],
  slices: number, shape: readonly number[], dtype: FloatDType, e: SplitKEpilogue, label: string,
): Promise<Tensor> {
  const partial = gpu.empty([slices, ...shape], "f32", `${label}_partial`);
  try {
    gpu.dispatch(kernel, { ...operands, y: partial }, uniforms, grid);
    const y = gpu.empty(shape, dtype, label);
    const sum = await gpu.kernel(splitKSumKernel, { dtype, bias: !!e.bias, residual: !!e.residual });
    const bindings: Record<string, Tensor> = { partial, y };
    if (e.bias) bindings.bias = e.bias;
    if (e.residual) bindings.residual = e.residual;
    gpu.dispatch(sum, bindings, { count: y.numel, slices, inner: e.inner, channels: e.channels, act: ACTIVATION_IDS[e.act ?? "none"] }, gridFor(gpu, y.numel));
    return y;
  } finally {
    partial.dispose();
  }
}

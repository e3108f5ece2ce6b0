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
  const k = await gpu.kernel(groupNormKernel, { dtype, silu: !!opts.silu, wg });
  const y = gpu.empty(x.shape, dtype, op);
  gpu.dispatch(k, { x, gamma, beta, y }, { groups, channels_per_group: c / groups, hw, eps: opts.eps }, [groups, n, 1]);
  return y;
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

import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { Activation } from "./activation.ts";
import { floatDType, shapeStr, type FloatDType } from "./common.ts";
import { runMatmul, type MatmulVariant } from "./matmul-kernel.ts";
import { isQuantizedWeight, type QuantizedWeight } from "./quant-weight.ts";
import { quantizedLinear } from "./quant-linear.ts";

export interface LinearOptions {
  /** Applied after the bias, fused in the matmul's write hook. */
  activation?: Activation | "none";
  /** Added last (y = act(x·Wᵀ + b) + residual); same shape as y. */
  residual?: Tensor;
  /** Force a kernel variant (tests and benchmarks). */
  variant?: MatmulVariant;
  /** K slices of a tile variant (tests and benchmarks; see MatmulRun.splitK). */
  splitK?: number;
}

/**
 * PyTorch linear y = act(x·Wᵀ + bias) + residual: x [..., K], weight [N, K] float (same dtype as x)
 * or a QuantizedWeight (W8A16/W4A16 dequantize in the B read; W8A8/W4A8 quantize x per token and
 * run integer dot products), bias [N] → y [..., N].
 */
export async function linear(gpu: Gpu, x: Tensor, weight: Tensor | QuantizedWeight, bias?: Tensor | null, opts: LinearOptions = {}): Promise<Tensor> {
  const op = "linear";
  const dtype = floatDType(gpu, op, "x", x);
  if (x.rank < 1) throw new OpInputError(op, `x must have rank ≥ 1, got ${shapeStr(x.shape)}`);
  const k = x.shape[x.rank - 1]!;
  const [n, wk] = isQuantizedWeight(weight) ? [weight.n, weight.k] : (weight.shape as [number, number]);
  if (!isQuantizedWeight(weight) && weight.rank !== 2) throw new OpInputError(op, `weight must be [N, K], got ${shapeStr(weight.shape)}`);
  if (wk !== k) throw new OpInputError(op, `x ${shapeStr(x.shape)} has K = ${k} but weight [${n}, ${wk}] has K = ${wk}`);
  const outShape = [...x.shape.slice(0, -1), n];
  checkEpilogue(op, dtype, outShape, bias, opts.residual, n);
  if (isQuantizedWeight(weight)) return quantizedLinear(gpu, x, weight, bias ?? undefined, opts);
  if (weight.dtype !== dtype) throw new OpInputError(op, `weight is ${weight.dtype} but x is ${dtype}`);
  return runMatmul(gpu, {
    op,
    a: x,
    b: weight,
    bias: bias ?? undefined,
    residual: opts.residual,
    outShape,
    m: x.shape.slice(0, -1).reduce((p, d) => p * d, 1), // rows, also when K = 0 (then y = act(bias))
    n,
    k,
    batch: 1,
    aBatchStride: 0,
    bBatchStride: 0,
    key: { b: "float-nk", zeroPoint: false, scaleInEpilogue: false, act: opts.activation ?? "none" },
    dtype,
    variant: opts.variant,
    splitK: opts.splitK,
  });
}

/** Bias must be [N] and residual the output shape, both in the output dtype. */
export function checkEpilogue(op: string, dtype: FloatDType, outShape: number[], bias: Tensor | null | undefined, residual: Tensor | undefined, n: number): void {
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== n) throw new OpInputError(op, `bias must be [${n}] (N), got ${shapeStr(bias.shape)}`);
    if (bias.dtype !== dtype) throw new OpInputError(op, `bias is ${bias.dtype} but x is ${dtype}`);
  }
  if (residual) {
    if (shapeStr(residual.shape) !== shapeStr(outShape)) throw new OpInputError(op, `residual must have the output shape ${shapeStr(outShape)}, got ${shapeStr(residual.shape)}`);
    if (residual.dtype !== dtype) throw new OpInputError(op, `residual is ${residual.dtype} but x is ${dtype}`);
  }
}

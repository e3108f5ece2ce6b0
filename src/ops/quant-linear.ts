/**
 * Quantized linears (torchao schemes, src/quant/formats.ts). Weight-only W8A16 / W4A16 reuse the
 * float matmul loop with codes dequantized in its B-read hook; W8A8 / W4A8 quantize x per token on
 * the GPU and run the integer-dot kernel (shaders/linear_int8.wgsl).
 */
import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { wordsPerRow } from "../quant/formats.ts";
import type { Activation } from "./activation.ts";
import { floatDType, shapeStr } from "./common.ts";
import { runMatmul, type MatmulVariant } from "./matmul-kernel.ts";
import type { QuantizedWeight } from "./quant-weight.ts";
import { runIntLinear, type IntLinearKernel } from "./quant-int-linear.ts";

export interface QuantizedLinearOptions {
  activation?: Activation | "none";
  residual?: Tensor;
  /** Weight-only schemes: force a matmul variant. */
  variant?: MatmulVariant;
  /** Weight-only int4 schemes: K slices of a tile variant (see MatmulRun.splitK; int8's column scale never splits). */
  splitK?: number;
  /** Integer schemes: which kernel (default "auto"); tests run each one the adapter has. */
  intKernel?: IntLinearKernel;
}

/** y = act(x·Wᵀ + bias) + residual for a quantized weight; x [..., K] float → y [..., N] in x's dtype. */
export async function quantizedLinear(gpu: Gpu, x: Tensor, w: QuantizedWeight, bias?: Tensor, opts: QuantizedLinearOptions = {}): Promise<Tensor> {
  const op = `linear_${w.format.scheme}`;
  const dtype = floatDType(gpu, op, "x", x);
  const k = x.shape[x.rank - 1]!;
  if (k !== w.k) throw new OpInputError(op, `x ${shapeStr(x.shape)} has K = ${k} but the weight is [${w.n}, ${w.k}]`);
  if (w.k % w.groupSize !== 0) throw new OpInputError(op, `K = ${w.k} is not a multiple of the group size ${w.groupSize}`);
  if (w.format.weight.bits === 4 && w.groupSize % 8 !== 0) throw new OpInputError(op, `int4 group size must be a multiple of 8 (codes per word), got ${w.groupSize}`);
  const m = x.numel / Math.max(k, 1);
  const outShape = [...x.shape.slice(0, -1), w.n];
  if (w.format.activation) return runIntLinear(gpu, { op, x, w, bias, residual: opts.residual, act: opts.activation ?? "none", m, outShape, kernel: opts.intKernel ?? "auto" });
  const int4 = w.format.weight.bits === 4;
  const perChannel = w.groupSize === w.k;
  return runMatmul(gpu, {
    op,
    a: x,
    b: w.codes,
    scales: w.scales,
    zeros: w.zeroPoints ?? undefined,
    bias,
    residual: opts.residual,
    outShape,
    m,
    n: w.n,
    k,
    batch: 1,
    aBatchStride: 0,
    bBatchStride: 0,
    groupSize: w.groupSize,
    wordsPerRow: wordsPerRow(w.format, w.k),
    // int8 per channel: (x·codes)·scale like torchao's weight-only kernel; int4 groups dequantize per element.
    key: { b: int4 ? "int4" : "int8", zeroPoint: !!w.zeroPoints, scaleInEpilogue: !int4 && perChannel, act: opts.activation ?? "none" },
    dtype,
    variant: opts.variant,
    splitK: opts.splitK,
  });
}

/** The integer-dot path of W8A8 / W4A8 linears (shaders/linear_int8.wgsl), after per-token activation quantization. */
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import { checkBindingSize, type Tensor } from "../gpu/tensor.ts";
import { wordsPerRow } from "../quant/formats.ts";
import type { Activation } from "./activation.ts";
import type { FloatDType } from "./common.ts";
import { quantizeActivationsPerToken } from "./quant-blocks.ts";
import { hasPackedIntegerDot } from "./quant-features.ts";
import type { QuantizedWeight } from "./quant-weight.ts";

const INT_WG = 64;
/** Rows per thread: each weight word is loaded once per INT_ROWS tokens. */
const INT_ROWS = 4;

interface IntLinearKey {
  dtype: FloatDType;
  weightBits: 4 | 8;
  packedDot: boolean;
  /** Weight scales stored as f16 pairs in u32 words (src/ops/quant-weight.ts). */
  scalesF16: boolean;
  bias: boolean;
  residual: boolean;
  act: Activation | "none";
}

export const intLinearKernel = defineKernel<IntLinearKey>({
  name: "linear_int8",
  file: "linear_int8.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    WG_SIZE: `${INT_WG}u`,
    INT_ROWS: `${INT_ROWS}u`,
    W_INT4: k.weightBits === 4,
    PACKED_DOT: k.packedDot,
    SCALES_F16: k.scalesF16,
    HAS_BIAS: k.bias,
    HAS_RESIDUAL: k.residual,
    [`ACT_${k.act.toUpperCase()}`]: true,
  }),
  label: (k) => `linear_int8_a8w${k.weightBits}_${k.packedDot ? "dot4" : "scalar"}_${k.dtype}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.act}${k.residual ? "_residual" : ""}`,
});

export interface IntLinearRun {
  op: string;
  x: Tensor;
  w: QuantizedWeight;
  bias?: Tensor;
  residual?: Tensor;
  act: Activation | "none";
  m: number;
  outShape: number[];
  scalarDot: boolean;
}

export async function runIntLinear(gpu: Gpu, r: IntLinearRun): Promise<Tensor> {
  const { w } = r;
  const dtype = r.x.dtype as FloatDType;
  const weightBits = w.format.weight.bits;
  const packedDot = !r.scalarDot && (await hasPackedIntegerDot());
  const xq = await quantizeActivationsPerToken(gpu, r.x, w.format);
  const bound: Record<string, Tensor> = { x_codes: xq.codes, x_scales: xq.scales, w_codes: w.codes, w_scales: w.scales };
  if (weightBits === 4) bound.x_zeros = xq.zeroPoints;
  if (r.bias) bound.bias = r.bias;
  if (r.residual) bound.residual = r.residual;
  for (const [name, t] of Object.entries(bound)) checkBindingSize(gpu.ctx, t.byteLength, `${r.op}: ${name} ${t}`);
  const kernel = await gpu.kernel(intLinearKernel, { dtype, weightBits, packedDot, scalesF16: w.scales.dtype === "f16", bias: !!r.bias, residual: !!r.residual, act: r.act });
  const y = gpu.empty(r.outShape, dtype, r.op);
  bound.y = y;
  gpu.dispatch(
    kernel,
    bound,
    { m: r.m, n: w.n, x_words: Math.ceil(w.k / 4), w_words: wordsPerRow(w.format, w.k), group_size: w.groupSize, groups_per_row: w.k / w.groupSize },
    [Math.ceil(w.n / INT_WG), Math.ceil(r.m / INT_ROWS), 1],
  );
  // Back to the pool right away: later users' writes (encoded fills, uploads that flush first) stay
  // in order after this dispatch.
  xq.codes.dispose();
  xq.scales.dispose();
  xq.zeroPoints.dispose();
  return y;
}

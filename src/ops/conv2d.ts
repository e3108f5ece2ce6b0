import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { wordsPerRow, type QuantFormat } from "../quant/formats.ts";
import { expectRank, floatDType, shapeStr, type FloatDType } from "./common.ts";

/**
 * Output tile per workgroup: TILE_M pixels × TILE_N channels over 16×16 threads, so each thread
 * holds (TILE_M / 16) × 4 accumulators; TILE_K = depth of the K slices in workgroup memory.
 */
const CONV_TILE_M = 128;
const CONV_TILE_N = 64;
const CONV_TILE_K = 16;

export type ConvWeightKind = "float" | "int8" | "int4" | "int4_zp";

interface Conv2dKey {
  dtype: FloatDType;
  weight: ConvWeightKind;
  kh: number;
  kw: number;
  /** Quantized weights: scales (and zero points) stored as f16 pairs in u32 words. */
  scalesF16: boolean;
  bias: boolean;
}

export const conv2dKernel = defineKernel<Conv2dKey>({
  name: "conv2d",
  file: "conv2d.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    TILE_M: `${CONV_TILE_M}u`,
    TILE_N: `${CONV_TILE_N}u`,
    TILE_K: `${CONV_TILE_K}u`,
    KH: `${k.kh}u`,
    KW: `${k.kw}u`,
    HAS_BIAS: k.bias,
    WEIGHT_FLOAT: k.weight === "float",
    WEIGHT_INT8: k.weight === "int8",
    WEIGHT_INT4: k.weight === "int4" || k.weight === "int4_zp",
    WEIGHT_ZERO_POINT: k.weight === "int4_zp",
    SCALES_F16: k.weight !== "float" && k.scalesF16,
  }),
  label: (k) => `conv2d_igemm_${k.kh}x${k.kw}_w${k.weight}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.dtype}`,
});

/**
 * A quantized conv weight on the GPU: the [Cout, Cin·kh·kw] matrix in the layout of
 * src/quant/formats.ts (codes u32 [Cout, wordsPerRow], scales f32 or f16 [Cout, K / groupSize],
 * zero points for W4A16 only, in the scales' dtype).
 */
export interface QuantizedConvWeight {
  format: QuantFormat;
  /** [Cout, Cin, kh, kw] of the float weight it stands for. */
  shape: readonly [number, number, number, number];
  groupSize: number;
  codes: Tensor;
  scales: Tensor;
  zeroPoints?: Tensor | null;
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
}

/** Output size of one spatial dim: floor((in + 2p − k) / s) + 1. */
export function convOutSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

function isQuantized(w: Tensor | QuantizedConvWeight): w is QuantizedConvWeight {
  return "format" in w;
}

/**
 * 2-D convolution, NCHW: x [N, Cin, H, W], weight [Cout, Cin, kh, kw] (float, or a
 * QuantizedConvWeight dequantized in the kernel's weight read), bias [Cout] or null → [N, Cout, Ho, Wo].
 */
export async function conv2d(gpu: Gpu, x: Tensor, weight: Tensor | QuantizedConvWeight, bias: Tensor | null, opts: Conv2dOptions = {}): Promise<Tensor> {
  const op = "conv2d";
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  const dtype = floatDType(gpu, op, "x", x);
  expectRank(op, "x", x, 4);
  if (!Number.isInteger(stride) || stride < 1) throw new OpInputError(op, `stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0) throw new OpInputError(op, `padding must be a non-negative integer, got ${pad}`);
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const wShape = isQuantized(weight) ? weight.shape : weight.shape;
  if (wShape.length !== 4) throw new OpInputError(op, `weight must be [Cout, Cin, kh, kw], got shape ${shapeStr(wShape)}`);
  const [cout, wCin, kh, kw] = wShape as [number, number, number, number];
  if (wCin !== cin) throw new OpInputError(op, `weight has ${wCin} input channels, input has ${cin}`);
  const ho = convOutSize(h, kh, stride, pad);
  const wo = convOutSize(w, kw, stride, pad);
  if (ho < 1 || wo < 1) throw new OpInputError(op, `kernel ${kh}x${kw} with padding ${pad} does not fit input ${h}x${w}`);
  if (bias) {
    if (bias.dtype !== dtype) throw new OpInputError(op, `bias must be ${dtype} like x, got ${bias.dtype}`);
    if (bias.rank !== 1 || bias.shape[0] !== cout) throw new OpInputError(op, `bias must have shape [${cout}], got ${shapeStr(bias.shape)}`);
  }
  const kTotal = cin * kh * kw;
  const bindings: Record<string, Tensor> = { x };
  let kind: ConvWeightKind = "float";
  let kWords = 0;
  let scaleGroups = 1;
  let groupSize = kTotal;
  let scalesF16 = false;
  if (isQuantized(weight)) {
    const f = weight.format;
    kind = f.weight.bits === 8 ? "int8" : f.storesWeightZeroPoint ? "int4_zp" : "int4";
    groupSize = weight.groupSize;
    if (kTotal % groupSize !== 0) throw new OpInputError(op, `K = Cin·kh·kw = ${kTotal} is not a multiple of the group size ${groupSize}`);
    scaleGroups = kTotal / groupSize;
    // The int8 read hook takes one scale per output channel (the int8 formats are per-channel).
    if (kind === "int8" && scaleGroups !== 1) throw new OpInputError(op, `int8 weights must be per-channel (group size ${kTotal}), got group size ${groupSize}`);
    kWords = wordsPerRow(f, kTotal);
    if (weight.codes.dtype !== "u32" || weight.codes.numel !== cout * kWords) {
      throw new OpInputError(op, `weight codes must be u32 [${cout}, ${kWords}], got ${shapeStr(weight.codes.shape)} ${weight.codes.dtype}`);
    }
    scalesF16 = weight.scales.dtype === "f16";
    if ((weight.scales.dtype !== "f32" && !scalesF16) || weight.scales.numel !== cout * scaleGroups) {
      throw new OpInputError(op, `weight scales must be f32 or f16 [${cout}, ${scaleGroups}], got ${shapeStr(weight.scales.shape)} ${weight.scales.dtype}`);
    }
    bindings.weight_codes = weight.codes;
    bindings.weight_scales = weight.scales;
    if (kind === "int4_zp") {
      if (!weight.zeroPoints || weight.zeroPoints.numel !== cout * scaleGroups || weight.zeroPoints.dtype !== weight.scales.dtype) {
        throw new OpInputError(op, `${f.scheme} weight needs zero points ${weight.scales.dtype} [${cout}, ${scaleGroups}] like its scales`);
      }
      bindings.weight_zero_points = weight.zeroPoints;
    }
  } else {
    if (weight.dtype !== dtype) throw new OpInputError(op, `weight must be ${dtype} like x, got ${weight.dtype}`);
    bindings.weight = weight;
  }
  if (bias) bindings.bias = bias;
  const kernel = await gpu.kernel(conv2dKernel, { dtype, weight: kind, kh, kw, scalesF16, bias: !!bias });
  const y = gpu.empty([n, cout, ho, wo], dtype, op);
  bindings.y = y;
  const mTotal = n * ho * wo;
  if (mTotal === 0 || cout === 0) return y;
  const uniforms = {
    batch: n, cin, h, w, cout, ho, wo, stride, pad,
    k_total: kTotal, k_words: kWords, scale_groups: scaleGroups, group_size: groupSize,
  };
  gpu.dispatch(kernel, bindings, uniforms, [Math.ceil(mTotal / CONV_TILE_M), Math.ceil(cout / CONV_TILE_N), 1]);
  return y;
}

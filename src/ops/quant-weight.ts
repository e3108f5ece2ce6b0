/**
 * A quantized [N, K] linear weight on the GPU, in the storage layout of src/quant/formats.ts (mirrored
 * by shaders/include/quant_formats.wgsl): packed codes, f32 scales [N, K/groupSize], and for W4A16
 * f32 zero points of the same shape.
 */
import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { wordsPerRow, type QuantFormat } from "../quant/formats.ts";
import type { PackedWeight } from "../quant/packing.ts";

export interface QuantizedWeight {
  readonly kind: "quantized-weight";
  format: QuantFormat;
  n: number;
  k: number;
  groupSize: number;
  /** i8x4 [N, K padded to 4] or i4x8 [N, K]: `wordsPerRow(format, K)` u32 words per row. */
  codes: Tensor;
  scales: Tensor;
  zeroPoints: Tensor | null;
}

export function isQuantizedWeight(w: unknown): w is QuantizedWeight {
  return typeof w === "object" && w !== null && (w as QuantizedWeight).kind === "quantized-weight";
}

/** Shape of the packed code tensor: int8 rows are padded to whole words. */
export function codesShape(format: QuantFormat, n: number, k: number): [number, number] {
  return format.weight.bits === 4 ? [n, k] : [n, wordsPerRow(format, k) * 4];
}

/** Uploads a CPU-packed weight (src/quant/packing.ts) as it is. */
export function uploadQuantizedWeight(gpu: Gpu, p: PackedWeight, label = "qweight"): QuantizedWeight {
  const groups = p.k / p.groupSize;
  if (!Number.isInteger(groups)) throw new OpInputError("uploadQuantizedWeight", `K = ${p.k} is not a multiple of the group size ${p.groupSize}`);
  if (p.scales.length !== p.n * groups) throw new OpInputError("uploadQuantizedWeight", `scales must be [${p.n}, ${groups}], got ${p.scales.length} values`);
  const dtype = p.format.weight.bits === 4 ? "i4x8" : "i8x4";
  return {
    kind: "quantized-weight",
    format: p.format,
    n: p.n,
    k: p.k,
    groupSize: p.groupSize,
    // Weights live as long as the model: exact-size buffers, no size-class slack.
    codes: gpu.upload(p.words, codesShape(p.format, p.n, p.k), dtype, `${label}.codes`, { exact: true }),
    scales: gpu.upload(p.scales, [p.n, groups], "f32", `${label}.scales`, { exact: true }),
    zeroPoints: p.zeroPoints ? gpu.upload(p.zeroPoints, [p.n, groups], "f32", `${label}.zeros`, { exact: true }) : null,
  };
}

export function disposeQuantizedWeight(w: QuantizedWeight): void {
  w.codes.dispose();
  w.scales.dispose();
  w.zeroPoints?.dispose();
}

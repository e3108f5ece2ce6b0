/**
 * A quantized [N, K] linear weight on the GPU, in the storage layout of src/quant/formats.ts (mirrored
 * by shaders/include/quant_formats.wgsl): packed codes, scales [N, K/groupSize], and for W4A16 zero
 * points of the same shape. Scales and zero points are f32 (default: exactly torchao's), or f16 to
 * save memory (`scaleStorage`), two per u32 word, widened by the kernels' scale read hook.
 */
import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../util/float16.ts";
import { weightGroupSizeProblem, wordsPerRow, type QuantFormat } from "../quant/formats.ts";
import type { PackedWeight } from "../quant/packing.ts";

/**
 * How weight scales (and W4A16 zero points) are stored on the GPU. "f32" keeps the quantizer's values
 * exactly (the torchao fixtures are checked this way); "f16" halves their bytes (1 → 0.5 bit per weight
 * at int4 group 32) and rounds each value once to half precision (≤ 2^-11 relative; below 2^-14 the
 * absolute error is ≤ 2^-25). No shader-f16 is needed.
 */
export type ScaleStorage = "f32" | "f16";

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

/** The values the kernels see for a stored f32 array: as is, or rounded to the nearest f16. */
export function storedScaleValues(values: Float32Array, storage: ScaleStorage): Float32Array {
  return storage === "f32" ? values : Float32Array.from(values, (v) => f16BitsToF32(f32ToF16Bits(v)));
}

/**
 * The packed weight as the kernels read it with `storage` (scales and zero points rounded to f16 for
 * "f16"): CPU references use it to predict the GPU result exactly.
 */
export function asStoredScales(p: PackedWeight, storage: ScaleStorage): PackedWeight {
  if (storage === "f32" || !fitsF16(p.scales) || !fitsF16(p.zeroPoints)) return p; // as uploadQuantizedWeight falls back
  return { ...p, scales: storedScaleValues(p.scales, storage), zeroPoints: p.zeroPoints && storedScaleValues(p.zeroPoints, storage) };
}

/** f16 can hold these values: none would overflow to ±Infinity (scales never do in practice: |w| > 65504·7). */
function fitsF16(values: Float32Array | null): boolean {
  if (!values) return true;
  for (const v of values) if (!Number.isFinite(f16BitsToF32(f32ToF16Bits(v)))) return false;
  return true;
}

export interface UploadQuantizedOptions {
  /** Storage of scales and zero points, default "f32". A tensor whose values overflow f16 stays f32. */
  scaleStorage?: ScaleStorage;
}

/** Uploads a CPU-packed weight (src/quant/packing.ts) as it is (scales converted to f16 if asked). */
export function uploadQuantizedWeight(gpu: Gpu, p: PackedWeight, label = "qweight", opts: UploadQuantizedOptions = {}): QuantizedWeight {
  const groupProblem = weightGroupSizeProblem(p.format, p.k, p.groupSize);
  if (groupProblem) throw new OpInputError("uploadQuantizedWeight", groupProblem);
  const groups = p.k / p.groupSize;
  if (p.scales.length !== p.n * groups) throw new OpInputError("uploadQuantizedWeight", `scales must be [${p.n}, ${groups}], got ${p.scales.length} values`);
  const dtype = p.format.weight.bits === 4 ? "i4x8" : "i8x4";
  // f16 halves the scale bytes; a tensor whose values would overflow it keeps f32 (the kernels take either).
  const sdt = opts.scaleStorage === "f16" && fitsF16(p.scales) && fitsF16(p.zeroPoints) ? "f16" : "f32";
  return {
    kind: "quantized-weight",
    format: p.format,
    n: p.n,
    k: p.k,
    groupSize: p.groupSize,
    // Weights live as long as the model: exact-size buffers, no size-class slack.
    codes: gpu.upload(p.words, codesShape(p.format, p.n, p.k), dtype, `${label}.codes`, { exact: true }),
    scales: gpu.upload(p.scales, [p.n, groups], sdt, `${label}.scales`, { exact: true }),
    zeroPoints: p.zeroPoints ? gpu.upload(p.zeroPoints, [p.n, groups], sdt, `${label}.zeros`, { exact: true }) : null,
  };
}

export function disposeQuantizedWeight(w: QuantizedWeight): void {
  w.codes.dispose();
  w.scales.dispose();
  w.zeroPoints?.dispose();
}

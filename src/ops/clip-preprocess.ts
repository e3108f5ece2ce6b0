import { OpInputError } from "../gpu/errors.ts";
import { defineKernel } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { bicubicCoefficients, PRECISION_BITS, shortestEdgeSize } from "../util/pillow-bicubic.ts";
import { ELEMENTWISE_WG, expectRank, gridFor, shapeStr } from "./common.ts";

export const clipPreprocessKernel = defineKernel<Record<string, never>>({
  name: "clip_preprocess",
  file: "clip_preprocess.wgsl",
  defines: () => ({ WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: () => "clip_preprocess_rgba8_f32",
});

export interface ClipPreprocessOptions {
  /** Shortest edge after the resize (CLIPImageProcessor `size.shortest_edge`). */
  size: number;
  /** Center crop edge (`crop_size`); default `size`. */
  crop?: number;
  /** Per-channel normalization (`image_mean`, `image_std`). */
  mean: readonly number[];
  std: readonly number[];
  /** Write into this [M, 3, crop, crop] f32 tensor from batch row `at` on, instead of a new tensor (batching images of different sizes). */
  into?: { out: Tensor; at: number };
}

/**
 * Per cropped output index along one axis: [first input index, weights padded to k], flattened. An unchanged size is
 * the identity tap (weight 2^22), since Pillow skips that pass and rounding v·2^22 + 2^21 down gives v back.
 */
function axisTaps(inSize: number, outSize: number, offset: number, crop: number): { k: number; table: number[] } {
  const { start, weights } =
    inSize === outSize ? { start: [...Array(outSize).keys()], weights: Array.from({ length: outSize }, () => Int32Array.of(1 << PRECISION_BITS)) } : bicubicCoefficients(inSize, outSize);
  const rows = Array.from({ length: crop }, (_, i) => i + offset);
  const k = Math.max(...rows.map((o) => weights[o]!.length));
  const table = rows.flatMap((o) => [start[o]!, ...weights[o]!, ...new Array<number>(k - weights[o]!.length).fill(0)]);
  return { k, table };
}

/** Rescale (float64 product rounded to float32, as the processor) then normalize in float32, for each byte value. */
export function clipNormalizeTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const f = Math.fround;
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) for (let b = 0; b < 256; b++) lut[c * 256 + b] = f(f(f(b * (1 / 255)) - f(mean[c]!)) / f(std[c]!));
  return lut;
}

/**
 * transformers' CLIPImageProcessor (PIL path) on the GPU: RGBA8 images [N, H, W] (one pixel per u32, as
 * `imageToRgba8` makes them; alpha ignored) → pixel_values [N, 3, crop, crop] f32. Shortest edge → `size` with
 * Pillow's bicubic (bit-exact: host-computed fixed-point taps, byte rounding after each pass), center crop at
 * floor((h − crop)/2), rescale 1/255, normalize. CPU reference: `clipPixelValues` (src/models/clip-vision).
 */
export async function clipPreprocess(gpu: Gpu, rgba: Tensor, opts: ClipPreprocessOptions): Promise<Tensor> {
  const op = "clipPreprocess";
  if (rgba.dtype !== "u32") throw new OpInputError(op, `rgba must be u32 (packed RGBA8), got ${rgba.dtype}`);
  expectRank(op, "rgba [N, H, W]", rgba, 3);
  const [n, h, w] = rgba.shape as [number, number, number];
  const size = opts.size;
  const crop = opts.crop ?? size;
  if (!Number.isInteger(size) || !Number.isInteger(crop) || size < 1 || crop < 1) throw new OpInputError(op, `size and crop must be positive integers, got ${size} and ${crop}`);
  if (h < 1 || w < 1) throw new OpInputError(op, `image must be at least 1×1, got ${h}×${w}`);
  if (opts.mean.length !== 3 || opts.std.length !== 3) throw new OpInputError(op, `mean and std need 3 values each, got ${opts.mean.length} and ${opts.std.length}`);
  const [rh, rw] = shortestEdgeSize(h, w, size);
  if (rh < crop || rw < crop) throw new OpInputError(op, `crop ${crop} exceeds the resized image ${rh}×${rw} (the processor would pad; not supported)`);
  const at = opts.into?.at ?? 0;
  if (opts.into) {
    const o = opts.into.out;
    if (o.dtype !== "f32" || o.rank !== 4 || o.shape[1] !== 3 || o.shape[2] !== crop || o.shape[3] !== crop || at < 0 || at + n > o.shape[0]!) {
      throw new OpInputError(op, `into.out ${shapeStr(o.shape)} ${o.dtype} cannot take ${n} images of 3×${crop}×${crop} f32 from row ${at}`);
    }
  }
  const x = axisTaps(w, rw, Math.floor((rw - crop) / 2), crop);
  const y = axisTaps(h, rh, Math.floor((rh - crop) / 2), crop);
  const k = await gpu.kernel(clipPreprocessKernel, {});
  const taps = gpu.upload(Int32Array.from([...x.table, ...y.table]), [x.table.length + y.table.length], "i32", "clip_taps");
  const lut = gpu.upload(clipNormalizeTable(opts.mean, opts.std), [3 * 256], "f32", "clip_normalize_lut");
  const pixels = opts.into?.out ?? gpu.empty([n, 3, crop, crop], "f32", "clip_pixel_values");
  const count = n * crop * crop;
  gpu.dispatch(k, { rgba, taps, lut, pixels }, { count, in_h: h, in_w: w, crop, kx: x.k, ky: y.k, y_table: x.table.length, out_base: at }, gridFor(gpu, count));
  // Safe before the dispatch runs: a later upload into a recycled buffer flushes this encoder first.
  taps.dispose();
  lut.dispose();
  return pixels;
}

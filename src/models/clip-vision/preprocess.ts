/**
 * transformers CLIPImageProcessor (PIL path) for uint8 RGB images: shortest side → 224 with Pillow's
 * bicubic (8-bit fixed point, a = −0.5), center crop (floor), rescale 1/255, normalize, HWC → CHW.
 * The CPU reference of the GPU op src/ops/clip-preprocess.ts (which the CLIP scorer uses); both must match
 * Pillow bit for bit.
 */
import { bicubicCoefficients as coefficients, PRECISION_BITS, shortestEdgeSize } from "../../util/pillow-bicubic.ts";

export { shortestEdgeSize };

/** OpenAI CLIP normalization constants (CLIPImageProcessor defaults). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface RgbImage {
  /** Row-major H×W×3 uint8. */
  data: Uint8Array;
  height: number;
  width: number;
}

const clip8 = (ss: number) => Math.min(255, Math.max(0, Math.floor(ss / (1 << PRECISION_BITS))));

/** One separable pass along `axis` (Pillow ImagingResampleHorizontal/Vertical_8bpc), rounding to uint8. */
function pass(img: RgbImage, outSize: number, axis: "x" | "y"): RgbImage {
  const inSize = axis === "x" ? img.width : img.height;
  const { start, weights } = coefficients(inSize, outSize);
  const [h, w] = axis === "x" ? [img.height, outSize] : [outSize, img.width];
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = axis === "x" ? x : y;
      const k = weights[o]!;
      for (let c = 0; c < 3; c++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < k.length; i++) {
          const src = axis === "x" ? (y * img.width + start[o]! + i) * 3 + c : ((start[o]! + i) * img.width + x) * 3 + c;
          ss += img.data[src]! * k[i]!;
        }
        out[(y * w + x) * 3 + c] = clip8(ss);
      }
    }
  }
  return { data: out, height: h, width: w };
}

/** PIL `Image.resize((w, h), BICUBIC)`: horizontal pass first, each pass only when that size changes. */
export function resizeBicubicPillow(img: RgbImage, height: number, width: number): RgbImage {
  let r = img;
  if (width !== r.width) r = pass(r, width, "x");
  if (height !== r.height) r = pass(r, height, "y");
  return r;
}

/** Resize + center crop (top/left = floor((h − crop)/2)) to crop×crop uint8. */
export function resizeAndCrop(img: RgbImage, size = 224, crop = 224): RgbImage {
  const [h, w] = shortestEdgeSize(img.height, img.width, size);
  const r = resizeBicubicPillow(img, h, w);
  const top = Math.floor((r.height - crop) / 2);
  const left = Math.floor((r.width - crop) / 2);
  const out = new Uint8Array(crop * crop * 3);
  for (let y = 0; y < crop; y++) out.set(r.data.subarray(((y + top) * r.width + left) * 3, ((y + top) * r.width + left + crop) * 3), y * crop * 3);
  return { data: out, height: crop, width: crop };
}

/**
 * pixel_values [3, crop, crop] (CHW float32) for one uint8 image: float32(float64(u8)/255 scaled), then
 * (x − mean)/std in float32 — the exact roundings of the processor.
 */
export function clipPixelValues(img: RgbImage, size = 224, crop = 224): Float32Array {
  const c = resizeAndCrop(img, size, crop);
  const f = Math.fround;
  const out = new Float32Array(3 * crop * crop);
  for (let ch = 0; ch < 3; ch++) {
    const mean = f(CLIP_MEAN[ch]!);
    const std = f(CLIP_STD[ch]!);
    for (let i = 0; i < crop * crop; i++) out[ch * crop * crop + i] = f(f(f(c.data[i * 3 + ch]! * (1 / 255)) - mean) / std);
  }
  return out;
}

/**
 * The processor's path for a float image with values in [0, 1] (torchmetrics' CLIP-IQA hands it
 * `images / data_range`): uint8(float32(x·255)) by truncation, PIL resize, back to float by 1/255 (float64
 * then float32), center crop, then the processor's own rescale divides by 255 a second time — so the
 * result is about (x/255 − mean)/std, a nearly constant image. transformers only warns; we reproduce it.
 * `data` is H×W×3 row-major.
 */
export function clipPixelValuesFromFloat01(data: Float32Array, height: number, width: number, size = 224, crop = 224): Float32Array {
  const f = Math.fround;
  const u8 = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) u8[i] = Math.min(255, Math.max(0, Math.trunc(f(data[i]! * 255))));
  const c = resizeAndCrop({ data: u8, height, width }, size, crop);
  const out = new Float32Array(3 * crop * crop);
  for (let ch = 0; ch < 3; ch++) {
    const mean = f(CLIP_MEAN[ch]!);
    const std = f(CLIP_STD[ch]!);
    for (let i = 0; i < crop * crop; i++) {
      const once = f(c.data[i * 3 + ch]! * (1 / 255)); // resize's rescale back: float64 product, float32 result
      const twice = f(once * (1 / 255)); // the processor's rescale: product of the float32 value and the float64 scale, rounded once (bit-exact with the fixture)
      out[ch * crop * crop + i] = f(f(twice - mean) / std);
    }
  }
  return out;
}

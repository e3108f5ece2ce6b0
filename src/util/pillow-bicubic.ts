/**
 * Pillow's bicubic resampling coefficients for 8-bit images (`precompute_coeffs` + `normalize_coeffs_8bpc`),
 * shared by the CPU reference (src/models/clip-vision/preprocess.ts) and the GPU op (src/ops/clip-preprocess.ts),
 * and transformers' shortest-edge sizing. Computed in double precision as Pillow does, which WGSL cannot.
 */

/** Pillow's fixed-point precision for 8-bit resampling (32 − 8 − 2). */
export const PRECISION_BITS = 22;

/** Pillow's bicubic kernel (a = −0.5). */
function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per output index: the first input index and the integer weights (scaled by 2^PRECISION_BITS). */
export function bicubicCoefficients(inSize: number, outSize: number): { start: number[]; weights: Int32Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const start: number[] = [];
  const weights: Int32Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w: number[] = [];
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * (1 / filterScale)); // Pillow multiplies by 1/filterscale
      w.push(v);
      sum += v;
    }
    const k = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const v = sum !== 0 ? w[x]! / sum : w[x]!;
      k[x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    start.push(xmin);
    weights.push(k);
  }
  return { start, weights };
}

/** transformers shortest-edge size: short → size, long → int(size · long / short). */
export function shortestEdgeSize(height: number, width: number, size: number): [number, number] {
  if (Math.min(height, width) === size) return [height, width];
  return height <= width ? [size, Math.trunc((size * width) / height)] : [Math.trunc((size * height) / width), size];
}

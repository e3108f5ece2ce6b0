/** Comparisons of RGBA8 pixel buffers for pipeline tests; alpha (always 255) is left out. */

/** PSNR in dB over the RGB bytes (Infinity for identical images). */
export function psnrRgb(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    se += (a[i]! - b[i]!) ** 2;
    n++;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}

/** Fraction of RGB bytes that differ by more than `tol`. */
export function fractionOff(a: Uint8ClampedArray, b: Uint8ClampedArray, tol: number): number {
  let off = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    n++;
    if (Math.abs(a[i]! - b[i]!) > tol) off++;
  }
  return off / n;
}

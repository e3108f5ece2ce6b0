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

/** A deterministic size×size (default 64) RGBA test image: a disc on a two-tone background. */
export function discTestImage(seed: number, size = 64) {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inDisc = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2;
      const o = (y * size + x) * 4;
      data.set(inDisc ? [220, 40 + seed * 30, 40, 255] : x < size / 2 ? [40, 80, 220, 255] : [245, 245, 245 - seed * 20, 255], o);
    }
  }
  return { width: size, height: size, data };
}

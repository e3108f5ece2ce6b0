/**
 * The error measure every float comparison in the verifier uses (and the fixture READMEs state):
 * max|a−b| / max(max|b|, 1). Any NaN in `a` where `b` is finite counts as infinite error.
 */
export function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const d = Math.abs(x - y);
    if (Number.isNaN(d)) {
      if (!(Number.isNaN(x) && Number.isNaN(y))) return Infinity;
      continue;
    }
    if (d > maxDiff) maxDiff = d;
    const ay = Math.abs(y);
    if (ay > maxRef) maxRef = ay;
  }
  return maxDiff / Math.max(maxRef, 1);
}

/** Largest absolute difference (NaN mismatches count as Infinity). */
export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (Number.isNaN(d)) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

/** True when both arrays hold identical values (bitwise for floats, so -0 ≠ +0 and NaN payloads matter). */
export function bitExact(a: ArrayLike<number> & { buffer?: ArrayBufferLike }, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  if (a instanceof Float32Array && b instanceof Float32Array) {
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
    const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Float32 arithmetic as torch's CPU kernels do it: every operation rounded once to float32.
 * JavaScript numbers are float64, so each result goes through `f32` (Math.fround). Products and sums of two float32
 * values are exact in float64 before that rounding, so `f32(a * b)` equals the float32 product bit for bit.
 */
export const f32 = Math.fround;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The next float32 after `x` towards +Infinity (x finite). */
function nextUpF32(x: number): number {
  if (x === 0) return 1.401298464324817e-45;
  scratchF32[0] = x;
  scratchU32[0] = x > 0 ? scratchU32[0]! + 1 : scratchU32[0]! - 1;
  return scratchF32[0]!;
}

/** The next float32 before `x` towards −Infinity (x finite). */
function nextDownF32(x: number): number {
  return -nextUpF32(-x);
}

/**
 * Fused multiply-add rounded once to float32: the value of a·b + c (float32 inputs) with a single rounding, as the
 * FMA instructions in torch's AVX2 kernels compute it.
 *
 * a·b is exact in float64 (48 significant bits); the float64 sum can be off by its rounding error, which matters only
 * when the float64 sum lands exactly on a float32 tie. TwoSum recovers that error and breaks the tie the right way.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  // TwoSum: err = (p + c) − s exactly.
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  const other = s > r ? nextUpF32(r) : nextDownF32(r);
  // s is a float32 tie only when it lies exactly halfway between r and its neighbour.
  if (other - s !== s - r) return r;
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

/** Float32 square root, correctly rounded (sqrt of a float32 in float64, then rounded, is exact: 53 ≥ 2·24 + 2). */
export function sqrtF32(x: number): number {
  return f32(Math.sqrt(x));
}

/** Rounds every element of a list of numbers to float32. */
export function toF32Array(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(values as ArrayLike<number>);
}

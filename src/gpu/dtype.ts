/**
 * Element types of GPU tensors. `i8x4` and `i4x8` are packed integer weights (4 int8 or 8 int4 per
 * u32 word); their logical shape counts elements, their storage counts words.
 */
export type DType = "f32" | "f16" | "i32" | "u32" | "i8x4" | "i4x8";

/** Bits per logical element. */
export const DTYPE_BITS: Record<DType, number> = { f32: 32, f16: 16, i32: 32, u32: 32, i8x4: 8, i4x8: 4 };

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor of this shape and dtype occupies, rounded up to whole 4-byte words (WebGPU copies are word-sized). */
export function storageBytes(shape: readonly number[], dtype: DType): number {
  const bits = numel(shape) * DTYPE_BITS[dtype];
  return Math.ceil(bits / 32) * 4;
}

/** Float32 → IEEE half bits, round to nearest even (for uploads to f16 tensors). */
export function f32ToF16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  let out = sign | (e << 10) | m;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) out++;
  return out;
}

export function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

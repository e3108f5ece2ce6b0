/** IEEE half-precision conversions shared by tensors (src/gpu) and checkpoints (src/weights). */

/** Converts IEEE half bits to a float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | undefined;

/**
 * Widens IEEE half bits to float32 (exact), through a 65536-entry table: one indexed load a value, ~5× the
 * arithmetic f16BitsToF32 in V8 (a full-size UNet's 865 M fp16 weights spent about a minute in it when loaded
 * as f32). Same values as f16BitsToF32, NaN payloads aside.
 */
export function widenF16(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = f16BitsToF32(h);
  }
  const t = halfTable;
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** Rounds a float32 value to IEEE half bits, round-to-nearest-even; overflow goes to ±Infinity. */
export function f32ToF16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  return halfFromF32Bits(U32_SCRATCH[0]!);
}

/** IEEE half bits of the float32 with bits `bits`, round-to-nearest-even; overflow goes to ±Infinity. */
function halfFromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, or a quiet NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit into place, rounding to even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and may reach Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/**
 * Rounds float32 values to IEEE half bits, as f32ToF16Bits does value by value, reading their bits through a u32
 * view (no scratch store and reload a value: ~2× faster in V8; the f16 pipeline narrows every weight).
 */
export function narrowF32(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u.length; i++) out[i] = halfFromF32Bits(u[i]!);
  return out;
}

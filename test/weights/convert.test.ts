import { describe, expect, it } from "vitest";
import { narrowF32 } from "../../src/util/float16.ts";
import { bf16BitsToF16Bits, bf16BytesToF16, bytesToFloat32, f16BitsToF32, f32ToF16Bits, float32ToBf16 } from "../../src/weights/safetensors/convert.ts";

/** Reference half rounding in float64: the nearest half value, ties to the even mantissa. */
function nearestHalfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  let best = -1;
  let bestErr = Infinity;
  // Search the two halves around x among all finite halves of the same sign (exhaustive, cached).
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const ax = Math.abs(x);
  if (ax >= 65520) return sign | 0x7c00; // 65520 = max half + half an ulp: rounds to infinity
  for (let h = 0; h < HALF_VALUES.length; h++) {
    const err = Math.abs(HALF_VALUES[h]! - ax);
    if (err < bestErr || (err === bestErr && (h & 1) === 0)) {
      best = h;
      bestErr = err;
    }
  }
  return sign | best;
}
/** Every finite non-negative half value, indexed by its bits. */
const HALF_VALUES = Float64Array.from({ length: 0x7c00 }, (_, h) => f16BitsToF32(h));

describe("float conversions", () => {
  it("narrowF32 rounds exactly as f32ToF16Bits: every half's neighbourhood, ties, subnormals, overflow, NaN, random bits", () => {
    const u = new Uint32Array(65536 * 5 + 200000);
    let k = 0;
    for (let h = 0; h < 65536; h++) {
      // Each half value widened, and the float32 bit patterns around its ties (half an ulp = 2^12 mantissa steps).
      const f = new Float32Array([f16BitsToF32(h)]);
      const b = new Uint32Array(f.buffer)[0]!;
      for (const d of [0, 0x1000, 0x0fff, 0x1001, -1]) u[k++] = (b + d) >>> 0;
    }
    let s = 12345;
    for (; k < u.length; k++) u[k] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const values = new Float32Array(u.buffer);
    const fast = narrowF32(values);
    for (let i = 0; i < values.length; i++) if (fast[i] !== f32ToF16Bits(values[i]!)) expect(fast[i], `bits ${u[i]!.toString(16)}`).toBe(f32ToF16Bits(values[i]!));
    // A subarray: its bits are read at its own offset.
    expect(Array.from(narrowF32(values.subarray(3, 9)))).toEqual(Array.from(values.subarray(3, 9), (x) => f32ToF16Bits(x)));
  });

  it("F16 bytes widen through the table exactly as f16BitsToF32, for every bit pattern, from aligned and odd offsets", () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(bits.buffer);
    const odd = new Uint8Array(bytes.length + 1);
    odd.set(bytes, 1);
    for (const view of [bytes, odd.subarray(1)]) {
      const wide = bytesToFloat32("F16", view);
      expect(wide.length).toBe(65536);
      for (let h = 0; h < 65536; h++) {
        const want = Math.fround(f16BitsToF32(h));
        if (!Object.is(wide[h], want) && !(Number.isNaN(want) && Number.isNaN(wide[h]))) expect(wide[h], `half bits ${h.toString(16)}`).toBe(want);
      }
    }
  });

  it("f32ToF16Bits round-trips every finite half exactly", () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const e = (h >> 10) & 0x1f;
      if (e === 31 && h & 0x3ff) continue; // NaN payloads are not preserved, only NaN-ness
      if (f32ToF16Bits(f16BitsToF32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it("f32ToF16Bits rounds to nearest even, like a float64 search over all halves", () => {
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const cases = [0, -0, 1e-8, 2 ** -25, 2 ** -24 * 1.5, 65504, 65519, 65520, 1e6, -3.14159, 0.1, 2 ** -14 * 0.75];
    // Exact midpoints between neighbouring halves are where round-to-even matters.
    for (let i = 0; i < 200; i++) {
      const h = Math.floor(rand() * 0x7bff);
      cases.push((f16BitsToF32(h) + f16BitsToF32(h + 1)) / 2, f16BitsToF32(h) * (1 + rand() * 1e-3));
    }
    const wrong = cases.filter((x) => f32ToF16Bits(x) !== nearestHalfBits(Math.fround(x)));
    expect(wrong).toEqual([]);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it("BF16 widens exactly to F32 and rounds to F16 to nearest even", () => {
    const bf = new Uint16Array([0x3f80, 0xc000, 0x3dcc, 0x7f80, 0x0001, 0x4780]); // 1, -2, ~0.0996, inf, tiny, 65536
    const f32 = bytesToFloat32("BF16", new Uint8Array(bf.buffer));
    expect(Array.from(f32.slice(0, 2))).toEqual([1, -2]);
    expect(f32[2]).toBeCloseTo(0.099609375, 12);
    expect(f32[3]).toBe(Infinity);
    const h = bf16BytesToF16(new Uint8Array(bf.buffer));
    expect(Array.from(h)).toEqual(Array.from(f32, (x) => f32ToF16Bits(x)));
    expect(h[4]).toBe(0); // 2^-133 underflows half
    expect(h[5]).toBe(0x7c00); // 65536 overflows half
    expect(bf16BitsToF16Bits(0x3f80)).toBe(0x3c00);
  });

  it("float32ToBf16 rounds to nearest even and keeps NaN", () => {
    const x = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN, -0]);
    // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa is 1; 1 + 3·2^-8 ties up to 1 + 2^-6.
    expect(Array.from(float32ToBf16(x))).toEqual([0x3f80, 0x3f80, 0x3f82, 0x7fc0, 0x8000]);
  });
});

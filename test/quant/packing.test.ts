import { describe, expect, it } from "vitest";
import { QUANT_FORMATS, wordsPerRow, type QuantSchemeId } from "../../src/quant/formats.ts";
import { packCodes, unpackCodes } from "../../src/quant/packing.ts";

/** Small deterministic generator (LCG) so the round trips cover every code value without Math.random. */
function codesFor(scheme: QuantSchemeId, count: number, seed: number): Int8Array {
  const { qmin, qmax } = QUANT_FORMATS[scheme].weight;
  const out = new Int8Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = qmin + (s % (qmax - qmin + 1));
  }
  return out;
}

describe("GPU storage layout", () => {
  it("int4 signed (W4A8): code k in nibble k%8 of word k/8, stored +8, low nibble first", () => {
    const codes = Int8Array.from([-8, -7, -1, 0, 1, 2, 6, 7]);
    const [word] = packCodes(QUANT_FORMATS.W4A8, codes, 1, 8);
    // nibbles low→high: 0,1,7,8,9,10,14,15
    expect(word).toBe(0xfea98710);
  });
  it("int4 unsigned (W4A16): uint4 codes stored as they are, so the GPU's nibble−8 is q−8", () => {
    const codes = Int8Array.from([0, 1, 2, 3, 12, 13, 14, 15]);
    expect(packCodes(QUANT_FORMATS.W4A16, codes, 1, 8)[0]).toBe(0xfedc3210);
  });
  it("int8: four two's-complement bytes per word, little-endian, rows padded to a multiple of 4", () => {
    const codes = Int8Array.from([-128, -1, 0, 127, 5, /* row 2 */ 1, 2, 3, 4, -5]);
    const words = packCodes(QUANT_FORMATS.W8A8, codes, 2, 5);
    expect(wordsPerRow(QUANT_FORMATS.W8A8, 5)).toBe(2);
    expect(Array.from(words)).toEqual([0x7f00ff80, 0x00000005, 0x04030201, 0x000000fb]);
  });
  it("rejects codes outside the format's range", () => {
    expect(() => packCodes(QUANT_FORMATS.W4A8, Int8Array.from([8, 0, 0, 0, 0, 0, 0, 0]), 1, 8)).toThrow(/outside -8..7/);
    expect(() => packCodes(QUANT_FORMATS.W4A16, Int8Array.from([-1, 0, 0, 0, 0, 0, 0, 0]), 1, 8)).toThrow(/outside 0..15/);
  });
  for (const scheme of Object.keys(QUANT_FORMATS) as QuantSchemeId[]) {
    it(`${scheme}: pack → unpack round trip on awkward shapes`, () => {
      const bits = QUANT_FORMATS[scheme].weight.bits;
      for (const [n, k] of bits === 4 ? [[1, 8], [3, 40], [7, 264]] : [[1, 1], [3, 5], [7, 263]]) {
        const codes = codesFor(scheme, n! * k!, n! * 1000 + k!);
        const words = packCodes(QUANT_FORMATS[scheme], codes, n!, k!);
        expect(words.length).toBe(n! * wordsPerRow(QUANT_FORMATS[scheme], k!));
        expect(Array.from(unpackCodes(QUANT_FORMATS[scheme], words, n!, k!))).toEqual(Array.from(codes));
      }
    });
  }
});

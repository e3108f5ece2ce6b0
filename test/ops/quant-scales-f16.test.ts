/**
 * Quantized weights with f16 scales (`scaleStorage: "f16"`): the kernels unpack two f16 per u32 word
 * (no shader-f16), so every scheme and kernel path must equal the CPU reference run on the f16-rounded
 * scales (`asStoredScales`). Outputs are NaN-poisoned (testGpu); scale counts are odd so the last
 * word is half used; int4 rows hold an odd number of K groups.
 */
import { describe, expect, it } from "vitest";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { conv2d, type QuantizedConvWeight } from "../../src/ops/conv2d.ts";
import { linear } from "../../src/ops/linear.ts";
import { MATMUL_VARIANTS } from "../../src/ops/matmul-kernel.ts";
import { QUANT_Y_TOL } from "../../src/ops/quant-golden.ts";
import { intLinearKernelsFor } from "../../src/ops/quant-int-linear.ts";
import { quantizedLinear, type QuantizedLinearOptions } from "../../src/ops/quant-linear.ts";
import { asStoredScales, disposeQuantizedWeight, uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS, wordsPerRow, type QuantSchemeId } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { dequantizePacked, packWeight, type PackedWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { bitExact, relativeMaxError } from "../../src/verify/compare.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";
import { conv2dRef } from "../helpers/references.ts";

const SCHEMES: QuantSchemeId[] = ["W8A16", "W4A16", "W8A8", "W4A8"];

/** [N, K] with an odd scale count: int4 group 32 → 5 groups per row × 7 rows; int8 per channel → 7. */
function packed(scheme: QuantSchemeId, seed: number): PackedWeight {
  const f = QUANT_FORMATS[scheme];
  const [n, k] = f.weight.bits === 4 ? [7, 160] : [7, 36];
  return packWeight(f, quantizeWeight(seededFloats(n * k, seed, -1.3, 0.9), n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
}

describe("f16 weight scales: storage", () => {
  it("halves the scale bytes (rounded up to a word) and keeps f32 where a value would overflow f16", async () => {
    const gpu = await testGpu();
    const p = packed("W4A16", 1);
    const f32 = uploadQuantizedWeight(gpu, p);
    const f16 = uploadQuantizedWeight(gpu, p, "q16", { scaleStorage: "f16" });
    expect([f16.scales.dtype, f16.zeroPoints!.dtype]).toEqual(["f16", "f16"]);
    expect(f16.scales.byteLength).toBe(Math.ceil(p.scales.length / 2) * 4);
    expect(f32.scales.byteLength).toBe(p.scales.length * 4);
    expect(bitExact(await gpu.read(f16.scales), asStoredScales(p, "f16").scales)).toBe(true);
    const huge = { ...p, scales: Float32Array.from(p.scales, (v, i) => (i === 3 ? 1e6 : v)) };
    const kept = uploadQuantizedWeight(gpu, huge, "huge", { scaleStorage: "f16" });
    expect(kept.scales.dtype).toBe("f32");
    expect(asStoredScales(huge, "f16")).toBe(huge);
    for (const w of [f32, f16, kept]) disposeQuantizedWeight(w);
  });
});

describe("f16 weight scales: quantized linear equals the CPU reference on f16-rounded scales", () => {
  // Identity rows pick single weight columns: y is exactly the decoded weight, so the half-word order is pinned.
  const identity = (k: number) => Float32Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));

  for (const scheme of SCHEMES) {
    it(`${scheme}: decode is bit-exact with dequantizePacked of the rounded scales`, async () => {
      const gpu = await testGpu();
      const p = packed(scheme, 7);
      const qw = { ...uploadQuantizedWeight(gpu, p, "q", { scaleStorage: "f16" }), format: { ...p.format, activation: null } };
      const x = gpu.upload(identity(p.k), [p.k, p.k]);
      const y = await quantizedLinear(gpu, x, qw, undefined, { variant: "t32x32k16" });
      const got = await gpu.read(y);
      const transposed = Float32Array.from({ length: p.n * p.k }, (_, i) => got[(i % p.k) * p.n + Math.floor(i / p.k)]!);
      expect(bitExact(transposed, dequantizePacked(asStoredScales(p, "f16"))), scheme).toBe(true);
      for (const t of [x, y]) t.dispose();
      disposeQuantizedWeight(qw);
    });

    it(`${scheme}: M = 1, 13, batched; every kernel variant or dot path`, async () => {
      const gpu = await testGpu();
      const f = QUANT_FORMATS[scheme];
      const p = packed(scheme, 3);
      const qw = uploadQuantizedWeight(gpu, p, "q", { scaleStorage: "f16" });
      const bv = seededFloats(p.n, 4);
      const b = gpu.upload(bv, [p.n]);
      const runs: QuantizedLinearOptions[] = f.activation ? (await intLinearKernelsFor(gpu, qw)).map((intKernel) => ({ intKernel })) : MATMUL_VARIANTS.map((variant) => ({ variant }));
      let farFromF32 = 0;
      for (const shape of [[1, p.k], [13, p.k], [2, 3, p.k]]) {
        const m = shape.reduce((a, d) => a * d, 1) / p.k;
        const xv = seededFloats(m * p.k, 9 + m, -2, 2);
        const x = gpu.upload(xv, shape);
        const want = quantizedLinearReference(xv, asStoredScales(p, "f16"), bv);
        const unrounded = quantizedLinearReference(xv, p, bv);
        for (const opts of runs) {
          const y = await linear(gpu, x, qw, b, opts);
          const got = await gpu.read(y);
          // Same bound as with f32 scales (README): only the float32 summation order differs.
          expect(relativeMaxError(got, want), `${scheme} ${shape} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(QUANT_Y_TOL);
          farFromF32 = Math.max(farFromF32, relativeMaxError(got, unrounded));
          y.dispose();
        }
        x.dispose();
      }
      // The test can tell the storages apart: the f32-scale reference is off by the f16 rounding.
      expect(farFromF32, scheme).toBeGreaterThan(QUANT_Y_TOL);
      b.dispose();
      disposeQuantizedWeight(qw);
    });
  }
});

interface ConvShape { cin: number; h: number; w: number; cout: number; k: number; pad: number }

async function quantConv(gpu: Gpu, scheme: QuantSchemeId, s: ConvShape, groupSize: number | "per-channel") {
  const format = QUANT_FORMATS[scheme];
  const kTotal = s.cin * s.k * s.k;
  const p = packWeight(format, quantizeWeight(seededFloats(s.cout * kTotal, 102, -1, 1), s.cout, kTotal, format, groupSize));
  const up = uploadQuantizedWeight(gpu, p, "conv", { scaleStorage: "f16" });
  const weight: QuantizedConvWeight = {
    format,
    shape: [s.cout, s.cin, s.k, s.k],
    groupSize: p.groupSize,
    codes: gpu.upload(p.words, [s.cout, wordsPerRow(format, kTotal)], "u32"),
    scales: up.scales,
    zeroPoints: up.zeroPoints,
  };
  up.codes.dispose();
  return { p, weight };
}

describe("f16 weight scales: conv2d equals the float conv of the f16-rounded dequantized weight", () => {
  // K = 32·9 = 288 → 9 groups of 32 per row, Cout 19: 171 scales (odd); 9×7 maps are not tile multiples.
  const s: ConvShape = { cin: 32, h: 9, w: 7, cout: 19, k: 3, pad: 1 };
  const cases: { scheme: QuantSchemeId; groupSize: number | "per-channel" }[] = [
    { scheme: "W8A16", groupSize: "per-channel" },
    { scheme: "W4A8", groupSize: 32 },
    { scheme: "W4A16", groupSize: 32 },
  ];
  for (const { scheme, groupSize } of cases) {
    it(`${scheme} group ${groupSize}`, async () => {
      const gpu = await testGpu();
      const { p, weight } = await quantConv(gpu, scheme, s, groupSize);
      expect(weight.scales.dtype).toBe("f16");
      const xs = seededFloats(s.cin * s.h * s.w, 101, -1, 1);
      const bs = seededFloats(s.cout, 103, -1, 1);
      const x = gpu.upload(xs, [1, s.cin, s.h, s.w]);
      const b = gpu.upload(bs, [s.cout]);
      const y = await conv2d(gpu, x, weight, b, { stride: 1, padding: 1 });
      const got = await gpu.read(y);
      // Same bound as the float conv test (conv2d.test.ts): 1e-5·√K for |x|, |w| ≤ 1.
      const tol = 1e-5 * Math.sqrt(s.cin * s.k * s.k);
      expect(relativeMaxError(got, conv2dRef(xs, dequantizePacked(asStoredScales(p, "f16")), bs, { ...s, n: 1, kh: s.k, kw: s.k, stride: 1 }))).toBeLessThanOrEqual(tol);
      expect(relativeMaxError(got, conv2dRef(xs, dequantizePacked(p), bs, { ...s, n: 1, kh: s.k, kw: s.k, stride: 1 })), "distinguishable from f32 scales").toBeGreaterThan(tol);
      for (const t of [x, b, y, weight.codes, weight.scales, weight.zeroPoints]) t?.dispose();
    });
  }

  it("rejects zero points stored unlike the scales", async () => {
    const gpu = await testGpu();
    const { weight } = await quantConv(gpu, "W4A16", s, 32);
    const zp32 = gpu.upload(new Float32Array(weight.zeroPoints!.numel), weight.zeroPoints!.shape);
    const x = gpu.upload(new Float32Array(s.cin * s.h * s.w), [1, s.cin, s.h, s.w]);
    await expect(conv2d(gpu, x, { ...weight, zeroPoints: zp32 }, null, { padding: 1 })).rejects.toThrow(/zero points f16 \[19, 9\] like its scales/);
    for (const t of [x, zp32, weight.codes, weight.scales, weight.zeroPoints]) t?.dispose();
  });
});

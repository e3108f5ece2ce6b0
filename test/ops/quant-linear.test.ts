import { describe, expect, it } from "vitest";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import { linear } from "../../src/ops/linear.ts";
import { hasCpuSubgroupKernels, MATMUL_VARIANTS, rowsVariantFor, SMALL_CPU_FLOPS } from "../../src/ops/matmul-kernel.ts";
import { quantizeActivationsPerToken, quantizeWeightOnGpu } from "../../src/ops/quant-blocks.ts";
import { hasPackedIntegerDot } from "../../src/ops/quant-features.ts";
import { QUANT_Y_TOL, runQuantCaseOnGpu } from "../../src/ops/quant-golden.ts";
import { intLinearKernelsFor } from "../../src/ops/quant-int-linear.ts";
import { quantizedLinear, type QuantizedLinearOptions } from "../../src/ops/quant-linear.ts";
import { codesShape, disposeQuantizedWeight, uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { dequantizePacked, packCodes, packWeight } from "../../src/quant/packing.ts";
import { quantizeActivations, quantizeWeight } from "../../src/quant/quantize.ts";
import { bitExact, relativeMaxError } from "../../src/verify/compare.ts";
import { w4a8ExtremeInputs } from "../cases/quant.ts";
import { seededFloats } from "../helpers/gpu.ts";
import { loadQuantCases } from "../quant/golden-cases.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

const SCHEMES: QuantSchemeId[] = ["W8A16", "W4A16", "W8A8", "W4A8"];

it("reports which int8 dot path the adapter has (both are tested below)", async () => {
  const packed = await hasPackedIntegerDot();
  console.log(`[quant] packed_4x8_integer_dot_product: ${packed}`);
  expect(typeof packed).toBe("boolean");
});

describe("quantized linear golden cases (GPU quantizer + kernels vs torchao fixtures)", () => {
  for (const { label, dir } of goldenFolders("quant")) {
    // "auto" is the CPU kernel on lavapipe where a case's shape fits it, linear_int8 elsewhere; "rows" is what
    // SwiftShader runs (matmul_rows.wgsl on int8 codes).
    for (const intKernel of ["auto", "rows", "dot4", "scalar"] as const) {
      it(`${label}: every case passes (int kernel ${intKernel})`, async () => {
        const gpu = await testGpu();
        const cases = loadQuantCases(dir);
        expect(cases.length).toBeGreaterThanOrEqual(9);
        for (const c of cases) {
          const r = await runQuantCaseOnGpu(gpu, c.file, { file: c.name, scheme: c.scheme, group_size: c.groupSize, M: c.m, N: c.n, K: c.k }, undefined, { intKernel });
          expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
        }
      });
    }
  }
});

/** The block reductions of quant_blocks.wgsl checked on this adapter: its default (undefined) and the two any adapter runs. */
const REDUCTIONS = [undefined, "workgroup", "serial"] as const;

describe("quant formats: GPU decode and GPU quantizer agree with src/quant bit for bit", () => {
  // Identity rows pick single weight columns, so y = x·Wᵀ is exactly the decoded weight (sums of one term and zeros).
  const identity = (k: number) => Float32Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));

  for (const scheme of SCHEMES) {
    it(`${scheme}: CPU-packed weights decode on the GPU to dequantizePacked`, async () => {
      const gpu = await testGpu();
      const f = QUANT_FORMATS[scheme];
      const [n, k] = f.weight.bits === 4 ? [5, 64] : [5, 37];
      const wv = seededFloats(n * k, 31, -2, 2);
      const packed = packWeight(f, quantizeWeight(wv, n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
      // The weight-only kernel dequantizes in its B read; activation-quantizing formats are decoded through it too.
      const qw = { ...uploadQuantizedWeight(gpu, packed), format: { ...f, activation: null } };
      const x = gpu.upload(identity(k), [k, k]);
      const y = await quantizedLinear(gpu, x, qw, undefined, { variant: "t32x32k16" });
      const got = await gpu.read(y);
      const want = dequantizePacked(packed);
      const transposed = Float32Array.from({ length: n * k }, (_, i) => got[(i % k) * n + Math.floor(i / k)]!);
      expect(bitExact(transposed, want), `${scheme} decode`).toBe(true);
      for (const t of [x, y]) t.dispose();
      disposeQuantizedWeight(qw);
    });

    it(`${scheme}: quantizeWeightOnGpu packs the same words, scales and zero points as the CPU`, async () => {
      const gpu = await testGpu();
      const f = QUANT_FORMATS[scheme];
      for (const [n, k] of f.weight.bits === 4 ? [[5, 96], [1, 32]] : [[5, 37], [3, 1], [2, 130]]) {
        const wv = seededFloats(n! * k!, 17 + k!, -3, 1);
        const gs = f.weight.bits === 4 ? 32 : "per-channel";
        const cpu = packWeight(f, quantizeWeight(wv, n!, k!, f, gs));
        const w = gpu.upload(wv, [n!, k!]);
        // Every block reduction: the adapter's own, GPUs' workgroup tree and SwiftShader's one thread per block.
        for (const reduce of REDUCTIONS) {
          const qw = await quantizeWeightOnGpu(gpu, w, f, gs, { reduce });
          const what = `${scheme} [${n}, ${k}] reduce=${reduce ?? "auto"}`;
          expect(qw.codes.shape).toEqual(codesShape(f, n!, k!));
          expect(bitExact((await gpu.download(qw.codes)) as Uint32Array, cpu.words), `${what} words`).toBe(true);
          expect(bitExact(await gpu.read(qw.scales), cpu.scales), `${what} scales`).toBe(true);
          if (cpu.zeroPoints) expect(bitExact(await gpu.read(qw.zeroPoints!), cpu.zeroPoints), `${what} zero points`).toBe(true);
          else expect(qw.zeroPoints).toBeNull();
          disposeQuantizedWeight(qw);
        }
        w.dispose();
      }
    });
  }

  it("W4A16: quantizeWeightOnGpu rounds near-.5 ties as torchao, through min_val = (mn + 8·scale) − 8·scale in f32", async () => {
    // Groups with a minimum ≥ 0 whose values sit within a few ulps of code ties: there min_val ≠ mn, and a compiler
    // that folds (mn + 8s) − 8s to mn flipped ~17 % of these codes (session 18 review; 0 flips since).
    const gpu = await testGpu();
    const f = QUANT_FORMATS.W4A16;
    const [n, k] = [256, 32];
    const wv = new Float32Array(n * k);
    const unit = seededFloats(3 * n, 29, 0, 1);
    for (let r = 0; r < n; r++) {
      const range = Math.fround(2 ** (Math.floor(unit[3 * r]! * 8) - 4) * (1 + Math.floor(unit[3 * r + 1]! * 64) / 64));
      const mn = Math.fround(unit[3 * r + 2]! * range * 0.5);
      wv[r * k] = mn;
      wv[r * k + 1] = Math.fround(mn + range);
      for (let i = 2; i < k; i++) wv[r * k + i] = Math.fround(mn + (((i % 15) + 0.5) * range) / 15);
    }
    const cpu = packWeight(f, quantizeWeight(wv, n, k, f, 32));
    const w = gpu.upload(wv, [n, k]);
    for (const reduce of REDUCTIONS) {
      const qw = await quantizeWeightOnGpu(gpu, w, f, 32, { reduce });
      const words = (await gpu.download(qw.codes)) as Uint32Array;
      let flips = 0;
      for (let i = 0; i < words.length; i++) if (words[i] !== cpu.words[i]) flips++;
      expect(flips, `reduce=${reduce ?? "auto"}: words differing from the CPU (torchao) codes`).toBe(0);
      disposeQuantizedWeight(qw);
    }
    w.dispose();
  });

  for (const scheme of ["W8A8", "W4A8"] as const) {
    it(`${scheme}: quantizeActivationsPerToken equals the CPU per-token quantizer`, async () => {
      const gpu = await testGpu();
      const f = QUANT_FORMATS[scheme];
      for (const shape of [[13, 37], [2, 3, 64], [1, 1]]) {
        const k = shape.at(-1)!;
        const m = shape.reduce((p, d) => p * d, 1) / k;
        const xv = seededFloats(m * k, 5 + k, -4, 3);
        const cpu = quantizeActivations(xv, m, k, f);
        const x = gpu.upload(xv, shape);
        for (const reduce of REDUCTIONS) {
          const q = await quantizeActivationsPerToken(gpu, x, f, { reduce });
          const what = `${scheme} ${shape} reduce=${reduce ?? "auto"}`;
          // Activation codes are int8 −128..127: the W8A8 weight packer lays them out exactly like the GPU.
          expect(bitExact((await gpu.download(q.codes)) as Uint32Array, packCodes(QUANT_FORMATS.W8A8, cpu.codes, m, k)), `${what} codes`).toBe(true);
          expect(bitExact(await gpu.read(q.scales), cpu.scales), `${what} scales`).toBe(true);
          expect(bitExact(await gpu.read(q.zeroPoints), cpu.zeroPoints), `${what} zero points`).toBe(true);
          for (const t of [q.codes, q.scales, q.zeroPoints]) t.dispose();
        }
        x.dispose();
      }
    });
  }
});

describe("NaN and ±∞ in activations of W8A8 / W4A8 linears", () => {
  it("make their rows NaN on every int kernel (torch's float path gives NaN or ∞ there; before, a NaN acted as 0)", async () => {
    const gpu = await testGpu();
    for (const scheme of ["W8A8", "W4A8"] as const) {
      const f = QUANT_FORMATS[scheme];
      const [n, k] = [9, 64];
      const packed = packWeight(f, quantizeWeight(seededFloats(n * k, 5, -1, 1), n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
      const qw = uploadQuantizedWeight(gpu, packed);
      const xv = seededFloats(4 * k, 6, -2, 2);
      xv[k + 7] = NaN; // row 1
      xv[2 * k + 40] = Infinity; // row 2
      xv[3 * k] = -Infinity; // row 3
      const x = gpu.upload(xv, [4, k]);
      const clean = quantizedLinearReference(xv.slice(0, k), packed, null);
      for (const intKernel of await intLinearKernelsFor(gpu, qw)) {
        const opts: QuantizedLinearOptions = { intKernel };
        const y = await gpu.read(await linear(gpu, x, qw, null, opts));
        const what = `${scheme} ${intKernel}`;
        expect(relativeMaxError(y.slice(0, n), clean), `${what}: the clean row`).toBeLessThanOrEqual(QUANT_Y_TOL);
        for (const row of [1, 2, 3]) expect(Array.from(y.slice(row * n, (row + 1) * n)).every(Number.isNaN), `${what}: row ${row} all NaN`).toBe(true);
      }
      x.dispose();
      disposeQuantizedWeight(qw);
    }
  });
});

describe("quantized linear vs the CPU reference (src/quant/linear.ts) on awkward shapes", () => {
  for (const scheme of SCHEMES) {
    it(`${scheme}: M = 1, 13, batched; every kernel variant or int kernel`, async () => {
      const gpu = await testGpu();
      const f = QUANT_FORMATS[scheme];
      // K = 37 / 64 keep the older shapes; K = 132 (int8: whole words, not a multiple of 32, so the CPU kernel's
      // 4-k tail runs) and K = 96 (int4: three 32-k chunks) are shapes the CPU-adapter kernel takes. N = 5 and 37 run
      // its 16-row form in 8-lane workgroups, N = 128 in 32-lane ones (smallCpuVariant).
      for (const [n, k] of f.weight.bits === 4 ? [[5, 64], [37, 96], [128, 32]] : [[5, 37], [37, 132], [128, 36]]) {
        const wv = seededFloats(n * k, 3, -1, 1);
        const bv = seededFloats(n, 4);
        const packed = packWeight(f, quantizeWeight(wv, n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
        const qw = uploadQuantizedWeight(gpu, packed);
        const b = gpu.upload(bv, [n]);
        const runs: QuantizedLinearOptions[] = f.activation ? (await intLinearKernelsFor(gpu, qw)).map((intKernel) => ({ intKernel })) : MATMUL_VARIANTS.map((variant) => ({ variant }));
        for (const shape of [[1, k], [13, k], [2, 3, k]]) {
          const m = shape.reduce((p, d) => p * d, 1) / k;
          const xv = seededFloats(m * k, 9 + m, -2, 2);
          const x = gpu.upload(xv, shape);
          const want = quantizedLinearReference(xv, packed, bv);
          for (const opts of runs) {
            const y = await linear(gpu, x, qw, b, opts);
            expect(y.shape).toEqual([...shape.slice(0, -1), n]);
            // README: Y ≤ 1e-5 relative to max|Y| (float32 summation order differs from the reference's).
            expect(relativeMaxError(await gpu.read(y), want), `${scheme} ${shape} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(QUANT_Y_TOL);
            y.dispose();
          }
          x.dispose();
        }
        b.dispose();
        disposeQuantizedWeight(qw);
      }
    });
  }

  it("W8A8 / W4A8 on the 16-row CPU kernel's 32-lane form (work ≥ SMALL_CPU_FLOPS, N filling its 128 columns)", async () => {
    // Smaller work takes the 8-lane form (the awkward-shape cases above), so this is the shape that runs the wide one.
    const gpu = await testGpu();
    expect(hasCpuSubgroupKernels(gpu), "lavapipe with 8-lane subgroups").toBe(true);
    const [m, n, k] = [515, 128, 256]; // M not a multiple of 16
    expect(2 * m * n * k).toBeGreaterThanOrEqual(SMALL_CPU_FLOPS);
    const xv = seededFloats(m * k, 31, -2, 2);
    const wv = seededFloats(n * k, 32, -1, 1);
    const x = gpu.upload(xv, [m, k]);
    for (const scheme of ["W8A8", "W4A8"] as const) {
      const f = QUANT_FORMATS[scheme];
      const packed = packWeight(f, quantizeWeight(wv, n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
      const qw = uploadQuantizedWeight(gpu, packed);
      gpu.startProfiling();
      const opts: QuantizedLinearOptions = { intKernel: "cpu" };
      const y = await linear(gpu, x, qw, null, opts);
      const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("matmul_cpu"));
      expect(labels, scheme).toEqual([`matmul_cpu_a8w${f.weight.bits}_f32_epilogue_uniform`]);
      // README: Y ≤ 1e-5 relative to max|Y|.
      expect(relativeMaxError(await gpu.read(y), quantizedLinearReference(xv, packed, null)), scheme).toBeLessThanOrEqual(QUANT_Y_TOL);
      y.dispose();
      disposeQuantizedWeight(qw);
    }
    x.dispose();
  });

  it("W8A8 / W4A8 on the rows kernel (SwiftShader's int path) in both workgroup shapes: 64 × 1 at N = 256, 16 × 4 at N = 67; W4A8 with linear_int8's bits", async () => {
    const gpu = await testGpu();
    const [m, k] = [37, 64]; // M past a 16-row workgroup block: threads start past the last row
    const xv = seededFloats(m * k, 41, -2, 2);
    const x = gpu.upload(xv, [m, k]);
    for (const n of [256, 67]) {
      const wv = seededFloats(n * k, 42 + n, -1, 1);
      for (const scheme of ["W8A8", "W4A8"] as const) {
        const f = QUANT_FORMATS[scheme];
        const packed = packWeight(f, quantizeWeight(wv, n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
        const qw = uploadQuantizedWeight(gpu, packed);
        const opts: QuantizedLinearOptions = { intKernel: "rows" };
        gpu.startProfiling();
        const y = await linear(gpu, x, qw, null, opts);
        const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("matmul_rows"));
        const narrow = rowsVariantFor(gpu, n) === "regs4x4v4n16";
        expect(narrow, `N = ${n}`).toBe(gpu.ctx.caps.cpu && n === 67);
        expect(labels, `${scheme} N = ${n}`).toEqual([`matmul_rows_a8w${f.weight.bits}_f32${narrow ? "_n16" : ""}_none`]);
        // README: Y ≤ 1e-5 relative to max|Y|.
        expect(relativeMaxError(await gpu.read(y), quantizedLinearReference(xv, packed, null)), `${scheme} N = ${n}`).toBeLessThanOrEqual(QUANT_Y_TOL);
        if (scheme === "W4A8") {
          // W4A8's integer sums in 16-bit fields give each K group's exact sum, scaled in linear_int8.wgsl's order.
          const scalar = await quantizedLinear(gpu, x, qw, undefined, { intKernel: "scalar" });
          expect(bitExact(await gpu.read(y), await gpu.read(scalar)), `W4A8 rows vs scalar, N = ${n}`).toBe(true);
          scalar.dispose();
        }
        y.dispose();
        disposeQuantizedWeight(qw);
      }
    }
    x.dispose();
  });

  it("W4A8 at the extremes of its integer sums: |code − zero| = 255, weight codes −8/7, groups of 32 to 256", async () => {
    // Every int kernel sums each K group's integer products exactly (f32 below 2^24, i32, packed dots, or the rows
    // kernel's 16-bit fields, read out every 16 k and at each group's end); here a group's sum reaches 2040 per k
    // (65280 at 32 k), so a lost or doubled product, an overflowing field or a wrong group boundary is off by ≥ 1
    // unit in 65280 (1.5e-5 relative), above the 1e-5 tolerance.
    const gpu = await testGpu();
    const f = QUANT_FORMATS.W4A8;
    const { m, n, k, xv, wv } = w4a8ExtremeInputs();
    for (const group of [32, 64, 128, 256]) {
      const packed = packWeight(f, quantizeWeight(wv, n, k, f, group));
      const qw = uploadQuantizedWeight(gpu, packed);
      const x = gpu.upload(xv, [m, k]);
      const want = quantizedLinearReference(xv, packed, null);
      const kernels = await intLinearKernelsFor(gpu, qw);
      expect(kernels, `group ${group}`).toContain("rows");
      for (const intKernel of kernels) {
        const opts: QuantizedLinearOptions = { intKernel };
        const y = await linear(gpu, x, qw, null, opts);
        expect(relativeMaxError(await gpu.read(y), want), `group ${group} ${intKernel}`).toBeLessThanOrEqual(QUANT_Y_TOL);
        y.dispose();
      }
      x.dispose();
      disposeQuantizedWeight(qw);
    }
  });

  it("the tiled dot4I8Packed kernel (GPUs, opt-in) gives the dot4 kernel's bits: W8A8 and W4A8, groups of 32 and 64, past one tile, fused epilogue", async () => {
    const gpu = await testGpu();
    if (!(await hasPackedIntegerDot())) return; // the packed dot is what it needs (lavapipe has it; the scalar paths are tested above)
    // 70 tokens and 67 channels: past one 64 × 64 tile, partial second ones. K = 96: three 32-k steps, each its own
    // group at 32; K = 128 with groups of 64: two steps per group.
    for (const [scheme, k, group] of [["W8A8", 96, "per-channel"], ["W4A8", 96, 32], ["W4A8", 128, 64]] as const) {
      const f = QUANT_FORMATS[scheme];
      const [m, n] = [70, 67];
      const packed = packWeight(f, quantizeWeight(seededFloats(n * k, 11), n, k, f, group));
      const qw = uploadQuantizedWeight(gpu, packed);
      const xv = seededFloats(m * k, 12, -3, 2);
      const [x, b, res] = [gpu.upload(xv, [m, k]), gpu.upload(seededFloats(n, 13), [n]), gpu.upload(seededFloats(m * n, 14), [m, n])];
      const opts = { activation: "silu", residual: res } as const;
      gpu.startProfiling();
      const yTiles = await quantizedLinear(gpu, x, qw, b, { ...opts, intKernel: "tiles" });
      const labels = (await gpu.stopProfiling()).map((t) => t.label);
      expect(labels.some((l) => l.startsWith(`linear_int8_tiles_a8w${f.weight.bits}`)), labels.join(", ")).toBe(true);
      const yDot4 = await quantizedLinear(gpu, x, qw, b, { ...opts, intKernel: "dot4" });
      // Same integer sums, scaled in the same order: the same bits.
      expect(bitExact(await gpu.read(yTiles), await gpu.read(yDot4)), `${scheme} K ${k} group ${group}`).toBe(true);
      const silu = (v: number) => v / (1 + Math.exp(-v));
      const rv = await gpu.read(res);
      const want = Float64Array.from(quantizedLinearReference(xv, packed, await gpu.read(b)), (v, i) => silu(v) + rv[i]!);
      // |silu'| ≤ 1.1: the linear's bound grows by that; + 1e-6 for the f32 exp.
      expect(relativeMaxError(await gpu.read(yTiles), want), `${scheme} vs reference`).toBeLessThanOrEqual(1.1 * QUANT_Y_TOL + 1e-6);
      for (const t of [x, b, res, yTiles, yDot4]) t.dispose();
      disposeQuantizedWeight(qw);
    }
  });

  it("fused epilogue on both paths: gelu_erf(x·Wᵀ + b) + residual", async () => {
    const gpu = await testGpu();
    const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    for (const scheme of ["W4A16", "W8A8", "W4A8"] as const) {
      const f = QUANT_FORMATS[scheme];
      const [m, n, k] = [6, 7, 64];
      const packed = packWeight(f, quantizeWeight(seededFloats(n * k, 1), n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
      const qw = uploadQuantizedWeight(gpu, packed);
      const xv = seededFloats(m * k, 2);
      const bv = seededFloats(n, 3);
      const rv = seededFloats(m * n, 4);
      const [x, b, res] = [gpu.upload(xv, [m, k]), gpu.upload(bv, [n]), gpu.upload(rv, [m, n])];
      const base = quantizedLinearReference(xv, packed, bv);
      const want = Float64Array.from(base, (v, i) => gelu(v) + rv[i]!);
      // Integer schemes: the kernel "auto" picks here, and the rows kernel (compiled epilogue, SwiftShader's path).
      for (const intKernel of f.activation ? (["auto", "rows"] as const) : (["auto"] as const)) {
        const opts: QuantizedLinearOptions = { activation: "gelu_erf", residual: res, intKernel };
        const y = await linear(gpu, x, qw, b, opts);
        // |gelu'| ≤ 1.13, so the linear's 1e-5 bound grows by that; + 2e-7 for the f32 erf (math.wgsl).
        expect(relativeMaxError(await gpu.read(y), want), `${scheme} ${intKernel}`).toBeLessThanOrEqual(1.13 * QUANT_Y_TOL + 2e-7);
        y.dispose();
      }
      for (const t of [x, b, res]) t.dispose();
      disposeQuantizedWeight(qw);
    }
  });

  it("f16 activations (f32 accumulate) on the weight-only and integer paths", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      expect(gpu.ctx.caps.features).not.toContain("shader-f16");
      return;
    }
    for (const scheme of ["W8A16", "W4A8"] as const) {
      const f = QUANT_FORMATS[scheme];
      const [m, n, k] = [13, 5, 64];
      const packed = packWeight(f, quantizeWeight(seededFloats(n * k, 8), n, k, f, f.weight.bits === 4 ? 32 : "per-channel"));
      const qw = uploadQuantizedWeight(gpu, packed);
      const xv = Float32Array.from(seededFloats(m * k, 9), (v) => f16BitsToF32(f32ToF16Bits(v)));
      const x = gpu.upload(xv, [m, k], "f16");
      for (const intKernel of f.activation ? (["auto", "rows"] as const) : (["auto"] as const)) {
        const opts: QuantizedLinearOptions = { intKernel };
        const y = await linear(gpu, x, qw, null, opts);
        expect(y.dtype).toBe("f16");
        // Same codes as the f32 reference on the f16-exact x; y is rounded once to f16 (2^-11 relative).
        expect(relativeMaxError(await gpu.read(y), quantizedLinearReference(xv, packed, null)), `${scheme} ${intKernel}`).toBeLessThanOrEqual(2 ** -11 + QUANT_Y_TOL);
        y.dispose();
      }
      x.dispose();
      disposeQuantizedWeight(qw);
    }
  });
});

describe("quantized linear input errors", () => {
  it("K not a multiple of the int4 group size, and x/weight K mismatch, name both values", async () => {
    const gpu = await testGpu();
    const w = gpu.upload(seededFloats(2 * 40, 1), [2, 40]);
    await expect(quantizeWeightOnGpu(gpu, w, QUANT_FORMATS.W4A16, 32)).rejects.toThrow(/K = 40 is not a multiple of the group size 32/);
    const w64 = gpu.upload(seededFloats(2 * 64, 1), [2, 64]);
    const qw = await quantizeWeightOnGpu(gpu, w64, QUANT_FORMATS.W4A8, 32);
    const x = gpu.upload(seededFloats(3 * 32, 2), [3, 32]);
    await expect(linear(gpu, x, qw)).rejects.toThrow(/x \[3, 32\] has K = 32 but weight \[2, 64\] has K = 64/);
    await expect(quantizeActivationsPerToken(gpu, x, QUANT_FORMATS.W8A16)).rejects.toThrow(/weight-only/);
    for (const t of [w, w64, x]) t.dispose();
    disposeQuantizedWeight(qw);
  });
});

/** erf via its Maclaurin/continued series is overkill here: Abramowitz–Stegun 7.1.26 is 1.5e-7, below the test bound's 2e-7 slack. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

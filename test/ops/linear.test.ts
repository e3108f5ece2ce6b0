import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GpuLimitError, OpInputError } from "../../src/gpu/errors.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import { createDevice, GpuContext } from "../../src/gpu/device.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { Tensor } from "../../src/gpu/tensor.ts";
import { linear } from "../../src/ops/linear.ts";
import { matmul } from "../../src/ops/matmul.ts";
import { autoSplitK } from "../../src/ops/split-k.ts";
import { ACTIVATIONS } from "../../src/ops/activation.ts";
import { DEFAULT_CPU_VARIANT, DEFAULT_TILE_VARIANT, GPU_TILE_MIN_ROWS, GPU_TILE_VARIANT, MATMUL_TILE_VARIANTS, rowsVariantFor, SMALL_CPU_FLOPS, smallCpuVariant, hasCpuSubgroupKernels, LARGE_CPU_VARIANT, largeCpuVariant, TALL_CPU_ROWS, W4A8_TALL_ROWS, MATMUL_VARIANTS } from "../../src/ops/matmul-kernel.ts";
import { quantizedLinear } from "../../src/ops/quant-linear.ts";
import { QUANT_Y_TOL } from "../../src/ops/quant-golden.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { ACT64 } from "../cases/foundation.ts";
import { maxAbsError, relativeMaxError } from "../../src/verify/compare.ts";
import { runLinear, runMatmul } from "../../src/verify/ops-cases/linear.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { refLinear } from "../helpers/references.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";


const silu = (v: number) => v / (1 + Math.exp(-v));
/** README bound for float32 matmul/linear vs float64 with inputs in [−1, 1): 1e-5·√K absolute. */
const f32Bound = (k: number) => 1e-5 * Math.sqrt(Math.max(k, 1));
const toF16 = (v: Float32Array) => Float32Array.from(v, (x) => f16BitsToF32(f32ToF16Bits(x)));

// One row (gemv), a tile-crossing 13 and 70 rows, K = 1, K = 37 (not a multiple of 4), N = 5; K = 320
// and 64 take the vec4 regs4x4v4 path (other K fall back to tiles there), with M and N not multiples of 4.
const SHAPES: [number, number, number][] = [
  [1, 37, 19],
  [13, 320, 5],
  [3, 1, 7],
  [70, 37, 67],
  [70, 64, 67],
  // K % 4 == 0 but not a multiple of 16 or 32: the CPU kernels' 4-k tail runs after whole chunks; M = 37 spans
  // two 32-row blocks, the second mostly clamped.
  [37, 84, 29],
];

describe("linear golden cases (ops oracle)", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    it(`${label}: every linear and matmul case passes at the README bound`, async () => {
      const gpu = await testGpu();
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
      const cases = manifest.cases.filter((c) => c.op === "linear" || c.op === "matmul");
      expect(cases.length).toBeGreaterThanOrEqual(6);
      for (const c of cases) {
        const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
        const r = await (c.op === "linear" ? runLinear : runMatmul)(gpu, st, c, undefined);
        expect(r.ok, `${c.file}: ${r.detail}`).toBe(true);
      }
    });
  }
});

describe("linear (f32) vs float64", () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: awkward shapes, with and without bias`, async () => {
      const gpu = await testGpu();
      for (const [m, k, n] of SHAPES) {
        const xv = seededFloats(m * k, 7 + m);
        const wv = seededFloats(n * k, 8 + k);
        const bv = seededFloats(n, 9);
        const x = gpu.upload(xv, [m, k]);
        const w = gpu.upload(wv, [n, k]);
        const b = gpu.upload(bv, [n]);
        for (const bias of [b, null]) {
          const y = await linear(gpu, x, w, bias, { variant });
          expect(y.shape).toEqual([m, n]);
          const err = maxAbsError(await gpu.read(y), refLinear(xv, wv, bias ? bv : null, m, k, n));
          expect(err, `${variant} M${m} K${k} N${n} bias=${!!bias}`).toBeLessThanOrEqual(f32Bound(k));
          y.dispose();
        }
        for (const t of [x, w, b]) t.dispose();
      }
    });
  }

  it("batched x [2, 7, 45] and the fused epilogue: silu(x·Wᵀ + b) + residual", async () => {
    const gpu = await testGpu();
    const [m, k, n] = [14, 45, 13];
    const xv = seededFloats(m * k, 1, -2, 2);
    const wv = seededFloats(n * k, 2);
    const bv = seededFloats(n, 3);
    const rv = seededFloats(m * n, 4);
    const x = gpu.upload(xv, [2, 7, k]);
    const w = gpu.upload(wv, [n, k]);
    const b = gpu.upload(bv, [n]);
    const res = gpu.upload(rv, [2, 7, n]);
    for (const variant of ["t32x32k16", "gemv", "gemvWg"] as const) {
      const y = await linear(gpu, x, w, b, { activation: "silu", residual: res, variant });
      expect(y.shape).toEqual([2, 7, n]);
      // silu is 1-Lipschitz-ish (|silu'| ≤ 1.1), so the linear bound carries over; + 1e-6 for the f32 exp.
      expect(maxAbsError(await gpu.read(y), refLinear(xv, wv, bv, m, k, n, silu, rv))).toBeLessThanOrEqual(1.1 * 2 * f32Bound(k) + 1e-6);
      y.dispose();
    }
    for (const t of [x, w, b, res]) t.dispose();
  });

  it("f16 storage (f32 accumulate) matches float64 on f16 inputs", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      // Without shader-f16 the op must refuse f16 tensors rather than compute garbage.
      expect(gpu.ctx.caps.features).not.toContain("shader-f16");
      return;
    }
    // The CPU-adapter kernels read f16 operands as u32 pairs (F16_WORDS); their 16-, 32- and 64-row layouts differ.
    const cpuVariants = hasCpuSubgroupKernels(gpu) ? [DEFAULT_CPU_VARIANT, "cpuR32w32", LARGE_CPU_VARIANT] as const : [];
    for (const variant of ["t32x32k16", "regs4x4v4", "regs4x4v4n16", "gemv", "gemvWg", ...cpuVariants] as const) {
      for (const [m, k, n] of SHAPES) {
        const xv = toF16(seededFloats(m * k, 5));
        const wv = toF16(seededFloats(n * k, 6));
        const bv = toF16(seededFloats(n, 7));
        const x = gpu.upload(xv, [m, k], "f16");
        const w = gpu.upload(wv, [n, k], "f16");
        const b = gpu.upload(bv, [n], "f16");
        const y = await linear(gpu, x, w, b, { variant });
        expect(y.dtype).toBe("f16");
        const want = refLinear(xv, wv, bv, m, k, n);
        const maxRef = want.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
        // Exact f16 inputs and f32 sums; y is rounded once to f16: half an ulp = 2^-11 relative.
        expect(maxAbsError(await gpu.read(y), want), `${variant} M${m} K${k} N${n}`).toBeLessThanOrEqual(2 ** -11 * maxRef + f32Bound(k));
        for (const t of [x, w, b, y]) t.dispose();
      }
    }
  });
});

describe("linear and matmul split along K (tile variants)", () => {
  const TILE_VARIANTS = MATMUL_VARIANTS.filter((v) => v in MATMUL_TILE_VARIANTS);

  it("every tile variant in 3 K slices: batched x and the fused epilogue act(x·Wᵀ + b) + residual, f32 and f16", async () => {
    const gpu = await testGpu();
    // K = 45: 3 tiles of 16, one slice each (the last 13 k); K = 320: 20 tiles, 7/7/6. x [2, 35, K]: 70 rows.
    for (const dtype of gpu.ctx.caps.f16 ? (["f32", "f16"] as const) : (["f32"] as const)) {
      const round = dtype === "f16" ? toF16 : (v: Float32Array) => v;
      for (const [k, n] of [[45, 13], [320, 67]] as const) {
        const m = 70;
        const [xv, wv, bv, rv] = [seededFloats(m * k, 1, -2, 2), seededFloats(n * k, 2), seededFloats(n, 3), seededFloats(m * n, 4)].map(round);
        const x = gpu.upload(xv!, [2, 35, k], dtype);
        const w = gpu.upload(wv!, [n, k], dtype);
        const b = gpu.upload(bv!, [n], dtype);
        const res = gpu.upload(rv!, [2, 35, n], dtype);
        const want = refLinear(xv!, wv!, bv!, m, k, n, silu, rv!);
        const maxRef = want.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
        for (const variant of TILE_VARIANTS) {
          gpu.startProfiling();
          const y = await linear(gpu, x, w, b, { activation: "silu", residual: res, variant, splitK: 3 });
          const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => !l.startsWith("fill"));
          // (The profiler lists kernels slowest first: compare as sets.)
          expect(labels.sort()).toEqual([`matmul_${variant}_${dtype}_bfloat-nk_none_splitk`, `split_k_sum_bias_residual_${dtype}`]);
          // As the fused-epilogue test above (silu's slope ≤ 1.1, + 1e-6 for its exp); f16: one output rounding more.
          const bound = 1.1 * 2 * f32Bound(k) + 1e-6 + (dtype === "f16" ? 2 ** -11 * maxRef : 0);
          expect(maxAbsError(await gpu.read(y), want), `${variant} ${dtype} K${k}`).toBeLessThanOrEqual(bound);
          y.dispose();
        }
        for (const t of [x, w, b, res]) t.dispose();
      }
    }
  });

  it("batched matmul with a broadcast b, and W4A16 weights, in K slices; W8A16 (column scale in the epilogue) is never split", async () => {
    const gpu = await testGpu();
    // [2, 3, 9, 40] @ [40, 11] (b broadcast) in 2 slices of 2 and 1 tiles, against the unsplit kernel's float64 bound.
    const [m, k, n] = [9, 40, 11];
    const av = seededFloats(6 * m * k, 11);
    const bv = seededFloats(k * n, 12);
    const a = gpu.upload(av, [2, 3, m, k]);
    const bt = gpu.upload(bv, [k, n]);
    const y = await matmul(gpu, a, bt, { variant: "t32x32k16", splitK: 2 });
    const got = await gpu.read(y);
    for (let p = 0; p < 6; p++) {
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) want[i * n + j]! += av[(p * m + i) * k + c]! * bv[c * n + j]!;
      expect(maxAbsError(got.subarray(p * m * n, (p + 1) * m * n), want), `batch ${p}`).toBeLessThanOrEqual(f32Bound(k));
    }
    for (const t of [a, bt, y]) t.dispose();

    // Weight-only int4 (K = 256 in 4 slices of 64) matches the reference of its dequantized weight; W8A16 runs unsplit.
    const [qm, qk, qn] = [37, 256, 40];
    const xv = seededFloats(qm * qk, 13);
    const wf = seededFloats(qn * qk, 14);
    const x = gpu.upload(xv, [qm, qk]);
    for (const scheme of ["W4A16", "W8A16"] as const) {
      const format = QUANT_FORMATS[scheme];
      const packed = packWeight(format, quantizeWeight(wf, qn, qk, format, scheme === "W4A16" ? 32 : "per-channel"));
      const w = uploadQuantizedWeight(gpu, packed);
      gpu.startProfiling();
      const yq = await quantizedLinear(gpu, x, w, undefined, { variant: "t32x32k16", splitK: 4 });
      const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => !l.startsWith("fill"));
      expect(labels.some((l) => l.endsWith("_splitk")), `${scheme}: ${labels.join(", ")}`).toBe(scheme === "W4A16");
      expect(relativeMaxError(await gpu.read(yq), quantizedLinearReference(xv, packed, null)), scheme).toBeLessThanOrEqual(QUANT_Y_TOL);
      yq.dispose();
      disposeQuantizedWeight(w);
    }
    x.dispose();
    await expect(linear(gpu, x, x, null, { splitK: 1.5 })).rejects.toThrow("linear: splitK must be a positive integer, got 1.5");
  });

  it("on a GPU adapter, a linear with few output tiles and a long K is split; SD's 64² shapes are not", async () => {
    // 256 rows × 96 columns = 4 workgroups of 64×128; K = 256 = 16 tiles → 2 slices of 8 (SPLIT_K_MIN_SLICE_TILES).
    const ctx = await createDevice();
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false }));
    gpu.poisonOutputs = true;
    const [m, k, n] = [256, 256, 96];
    const xv = seededFloats(m * k, 21);
    const wv = seededFloats(n * k, 22);
    const bv = seededFloats(n, 23);
    const [x, w, b] = [gpu.upload(xv, [m, k]), gpu.upload(wv, [n, k]), gpu.upload(bv, [n])];
    gpu.startProfiling();
    const y = await linear(gpu, x, w, b);
    const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => !l.startsWith("fill"));
    expect(labels.sort()).toEqual([`matmul_${GPU_TILE_VARIANT}_f32_bfloat-nk_none_splitk`, "split_k_sum_bias_f32"]);
    expect(maxAbsError(await gpu.read(y), refLinear(xv, wv, bv, m, k, n))).toBeLessThanOrEqual(f32Bound(k));
    ctx.destroy();
    // SD-Turbo's 64² linears (4096 rows) have 192+ workgroups: never split.
    expect(autoSplitK(Math.ceil(320 / 128) * Math.ceil(4096 / 64), Math.ceil(1280 / 16))).toBe(1);
  });
});

describe("linear kernel choice", () => {
  it("linears with K % 4 == 0 run matmul_cpu on CPU adapters with 8-lane subgroups (else regs4x4v4); K % 4 ≠ 0 falls back to tiles, one row to gemv", async () => {
    const gpu = await testGpu();
    const labels: string[] = [];
    for (const [m, k] of [[13, 64], [13, 37], [1, 64]]) {
      const x = gpu.upload(seededFloats(m! * k!, 1), [m!, k!]);
      const w = gpu.upload(seededFloats(5 * k!, 2), [5, k!]);
      gpu.startProfiling();
      const y = await linear(gpu, x, w);
      labels.push(...(await gpu.stopProfiling()).map((t) => t.label));
      for (const t of [x, w, y]) t.dispose();
    }
    const caps = gpu.ctx.caps;
    const cpuKernel = caps.cpu && caps.subgroups && caps.subgroupSizes?.[0] === 8 && caps.subgroupSizes[1] === 8;
    // Elsewhere the rows kernel: 16 × 4 workgroups on CPU adapters (N = 5 would idle a 64-wide one), 64 × 1 on GPUs.
    const first = cpuKernel ? `matmul_${smallCpuVariant(5, 2 * 13 * 64 * 5)}_f32_bfloat-nk_runtime` : `matmul_${rowsVariantFor(gpu, 5)}_f32_bfloat-nk_none`;
    const tiles = caps.cpu ? DEFAULT_TILE_VARIANT : GPU_TILE_VARIANT;
    expect(labels).toEqual([first, `matmul_${tiles}_f32_bfloat-nk_none`, "matmul_gemv_f32_bfloat-nk_none"]);
  });

  it("on a GPU adapter, linears from GPU_TILE_MIN_ROWS rows take the vec4 tiles, fewer rows the rows kernel, one row the workgroup gemv", async () => {
    // This machine's adapter is a CPU one: a device of its own is told otherwise, so the GPU rule runs here (the
    // tiles' results are checked for every variant above; H200 timings in kernels-bench/RESULTS.md).
    const ctx = await createDevice();
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false }));
    const labels: string[] = [];
    for (const m of [1, GPU_TILE_MIN_ROWS - 1, GPU_TILE_MIN_ROWS]) {
      const x = gpu.upload(seededFloats(m * 64, 1), [m, 64]);
      const w = gpu.upload(seededFloats(96 * 64, 2), [96, 64]);
      gpu.startProfiling();
      const y = await linear(gpu, x, w);
      labels.push(...(await gpu.stopProfiling()).map((t) => t.label));
      for (const t of [x, w, y]) t.dispose();
    }
    ctx.destroy();
    expect(labels).toEqual(["matmul_gemvWg_f32_bfloat-nk_none", "matmul_regs4x4v4_f32_bfloat-nk_none", `matmul_${GPU_TILE_VARIANT}_f32_bfloat-nk_none`]);
  });

  it("below the large-GEMM rows, the 16-row CPU kernel takes 8-lane workgroups where 32 lanes would idle over 1/8 of their columns, and for small work", () => {
    // 128 columns per 32-lane workgroup: N = 128, 256, 1280 fill it; 5, 64, 96, 320 (SD's 16² projections) do not.
    expect([5, 64, 96, 128, 256, 320, 1280].map((n) => smallCpuVariant(n, SMALL_CPU_FLOPS))).toEqual(["cpuR16w8", "cpuR16w8", "cpuR16w8", DEFAULT_CPU_VARIANT, DEFAULT_CPU_VARIANT, "cpuR16w8", DEFAULT_CPU_VARIANT]);
    // Under SMALL_CPU_FLOPS every N takes the 8-lane form (one pipeline for a small model); SD 1.5's smallest linear does not.
    expect([128, 1280].map((n) => smallCpuVariant(n, SMALL_CPU_FLOPS - 1))).toEqual(["cpuR16w8", "cpuR16w8"]);
    expect(2 * 77 * 768 * 320).toBeGreaterThanOrEqual(SMALL_CPU_FLOPS);
  });

  it(`from ${TALL_CPU_ROWS} rows and SMALL_CPU_FLOPS, float linears take the 64-row CPU kernel, W8A8 and W8A16 the 32-row one; W4A8 where N fills its workgroups, or from ${W4A8_TALL_ROWS} rows`, async () => {
    const gpu = await testGpu();
    expect(hasCpuSubgroupKernels(gpu), "lavapipe with 8-lane subgroups").toBe(true);
    // [M, K, N]: one row short of a 64-row block; a block over SMALL_CPU_FLOPS (N = 384: 3 whole 128-column
    // workgroups of the 16-row kernel, 1.5 of the 64-row kernel's 256-column ones, so it takes the 64-column form); a block under it; W4A8's threshold.
    const big = [TALL_CPU_ROWS, 1024, 384] as const;
    expect(2 * (big[0] - 1) * big[1] * big[2]).toBeGreaterThanOrEqual(SMALL_CPU_FLOPS);
    // N = 320 does not fill 128-column workgroups of the 32-row int kernel (3 for 320 columns): W4A8 keeps 16 rows there.
    const cases: [number, number, number][] = [[TALL_CPU_ROWS - 1, 1024, 384], [...big], [TALL_CPU_ROWS, 1024, 320], [TALL_CPU_ROWS, 64, 40], [W4A8_TALL_ROWS - 1, 64, 40], [W4A8_TALL_ROWS, 64, 40]];
    const runs: string[][] = [];
    for (const [m, k, n] of cases) {
      const xv = seededFloats(m * k, 21, -2, 2);
      const wv = seededFloats(n * k, 22);
      const x = gpu.upload(xv, [m, k]);
      const w = gpu.upload(wv, [n, k]);
      const packed = packWeight(QUANT_FORMATS.W8A8, quantizeWeight(wv, n, k, QUANT_FORMATS.W8A8, "per-channel"));
      const qw = uploadQuantizedWeight(gpu, packed);
      const packedW8 = packWeight(QUANT_FORMATS.W8A16, quantizeWeight(wv, n, k, QUANT_FORMATS.W8A16, "per-channel"));
      const qw8 = uploadQuantizedWeight(gpu, packedW8);
      const packedW4A8 = packWeight(QUANT_FORMATS.W4A8, quantizeWeight(wv, n, k, QUANT_FORMATS.W4A8, 32));
      const qw4 = uploadQuantizedWeight(gpu, packedW4A8);
      gpu.startProfiling();
      const y = await linear(gpu, x, w);
      const yq = await quantizedLinear(gpu, x, qw);
      const yw8 = await quantizedLinear(gpu, x, qw8);
      const yw4 = await quantizedLinear(gpu, x, qw4);
      runs.push((await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("matmul_")).sort());
      expect(maxAbsError(await gpu.read(y), refLinear(xv, wv, null, m, k, n)), `M = ${m}`).toBeLessThanOrEqual(f32Bound(k));
      expect(relativeMaxError(await gpu.read(yq), quantizedLinearReference(xv, packed, null)), `W8A8 M = ${m}`).toBeLessThanOrEqual(QUANT_Y_TOL);
      expect(relativeMaxError(await gpu.read(yw8), quantizedLinearReference(xv, packedW8, null)), `W8A16 M = ${m}`).toBeLessThanOrEqual(QUANT_Y_TOL);
      expect(relativeMaxError(await gpu.read(yw4), quantizedLinearReference(xv, packedW4A8, null)), `W4A8 M = ${m}`).toBeLessThanOrEqual(QUANT_Y_TOL);
      for (const t of [x, w, y, yq, yw8, yw4]) t.dispose();
      for (const q of [qw, qw8, qw4]) disposeQuantizedWeight(q);
    }
    // Each case's labels (W4A8, W8A8, float, W8A16), compared sorted: the profiler lists them in its own order.
    const sorted = (labels: string[]) => [...labels].sort();
    expect([smallCpuVariant(384, SMALL_CPU_FLOPS), largeCpuVariant(384)]).toEqual(["cpuR16w32", "cpuR64w8"]);
    expect(runs[0]).toEqual(sorted(["matmul_cpu_a8w4_f32_epilogue_uniform", "matmul_cpu_a8w8_f32_epilogue_uniform", "matmul_cpuR16w32_f32_bfloat-nk_runtime", "matmul_cpuR16w32_f32_bint8_colscale_runtime"]));
    expect(runs[1]).toEqual(sorted(["matmul_cpu_a8w4_f32_r32_epilogue_uniform", "matmul_cpu_a8w8_f32_r32_epilogue_uniform", "matmul_cpuR64w8_f32_bfloat-nk_runtime", "matmul_cpuR32w32_f32_bint8_colscale_runtime"]));
    expect(runs[2]).toEqual(sorted(["matmul_cpu_a8w4_f32_w8_epilogue_uniform", "matmul_cpu_a8w8_f32_r32_epilogue_uniform", "matmul_cpuR64w8_f32_bfloat-nk_runtime", "matmul_cpuR32w32_f32_bint8_colscale_runtime"]));
    // Under SMALL_CPU_FLOPS a full block keeps the 8-lane 16-row pipeline (the toy's 8² latent: no extra compile).
    for (const i of [3, 4]) expect(runs[i]).toEqual(sorted(["matmul_cpu_a8w4_f32_w8_epilogue_uniform", "matmul_cpu_a8w8_f32_w8_epilogue_uniform", "matmul_cpuR16w8_f32_bfloat-nk_runtime", "matmul_cpuR16w8_f32_bint8_colscale_runtime"]));
    expect(runs[5]).toEqual(sorted(["matmul_cpu_a8w4_f32_r32_epilogue_uniform", "matmul_cpu_a8w8_f32_w8_epilogue_uniform", "matmul_cpuR16w8_f32_bfloat-nk_runtime", "matmul_cpuR16w8_f32_bint8_colscale_runtime"]));
    // The 64-row kernel's workgroups span 256 columns: N = 5 or 320 take the 64-column ones, 1280 the wide ones.
    expect([5, 320, 1280, 2560].map(largeCpuVariant)).toEqual(["cpuR64w8", "cpuR64w8", LARGE_CPU_VARIANT, LARGE_CPU_VARIANT]);
  });
});

describe("CPU-adapter kernels: one pipeline, epilogue chosen per dispatch", () => {
  it("every activation × bias × residual on matmul_cpu (float and W8A8) equals float64, from a single compiled pipeline each", async () => {
    const gpu = await testGpu();
    // Node runs on lavapipe, which has the 8-lane subgroups these kernels need; elsewhere this test has nothing to check.
    expect(hasCpuSubgroupKernels(gpu), "lavapipe with 8-lane subgroups").toBe(true);
    const [m, k, n] = [13, 36, 7]; // K not a multiple of 32 (the 4-k tail runs), M and N not multiples of the tile
    const xv = seededFloats(m * k, 11, -2, 2);
    const wv = seededFloats(n * k, 12);
    const bv = seededFloats(n, 13);
    const rv = seededFloats(m * n, 14);
    const x = gpu.upload(xv, [m, k]);
    const w = gpu.upload(wv, [n, k]);
    const b = gpu.upload(bv, [n]);
    const res = gpu.upload(rv, [m, n]);
    const f = QUANT_FORMATS.W8A8;
    const packed = packWeight(f, quantizeWeight(wv, n, k, f, "per-channel"));
    const qw = uploadQuantizedWeight(gpu, packed);
    const labels = new Set<string>();
    for (const act of ["none", ...ACTIVATIONS] as const) {
      for (const [withBias, withRes] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const opts = { activation: act, residual: withRes ? res : undefined };
        const fn = act === "none" ? undefined : ACT64[act];
        gpu.startProfiling();
        const y = await linear(gpu, x, w, withBias ? b : null, opts);
        const yq = await quantizedLinear(gpu, x, qw, withBias ? b : undefined, { ...opts, intKernel: "cpu" });
        for (const t of await gpu.stopProfiling()) labels.add(t.label);
        const what = `${act} bias=${withBias} residual=${withRes}`;
        // The activations are at most ~1.1-Lipschitz: the linear bound carries over, + 1e-6 for the f32 exp/erf/tanh.
        expect(maxAbsError(await gpu.read(y), refLinear(xv, wv, withBias ? bv : null, m, k, n, fn, withRes ? rv : undefined)), what).toBeLessThanOrEqual(1.1 * 2 * f32Bound(k) + 1e-6);
        const pre = quantizedLinearReference(xv, packed, withBias ? bv : null);
        const wantQ = pre.map((v, i) => (fn ? fn(v) : v) + (withRes ? rv[i]! : 0));
        // The integer path's README bound (1e-5 of max|Y| before the epilogue), carried through the activation.
        const maxPre = pre.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
        expect(maxAbsError(await gpu.read(yq), wantQ), `W8A8 ${what}`).toBeLessThanOrEqual(1.1 * QUANT_Y_TOL * maxPre + 1e-6);
        y.dispose();
        yq.dispose();
      }
    }
    // The float linear and the W8A8 linear each ran one pipeline (plus the activation quantizer).
    expect([...labels].filter((l) => l.startsWith("matmul_")).sort()).toEqual([`matmul_${smallCpuVariant(n, 2 * m * n * k)}_f32_bfloat-nk_runtime`, "matmul_cpu_a8w8_f32_w8_epilogue_uniform"]);
    for (const t of [x, w, b, res]) t.dispose();
    disposeQuantizedWeight(qw);
  });

  it("the 64-row kernels (8 columns per lane, column terms loaded once per lane) fuse bias, activation and residual at the edges", async () => {
    const gpu = await testGpu();
    expect(hasCpuSubgroupKernels(gpu), "lavapipe with 8-lane subgroups").toBe(true);
    // M = 70: the second 64-row block holds 6 rows (the epilogue loop stops there); N = 67: the last lane's first 4
    // columns are partly past N (64..66 written, 67 not) and its other 4 wholly past; K = 68: one 4-k tail step.
    const [m, k, n] = [70, 68, 67];
    const xv = seededFloats(m * k, 21, -2, 2);
    const wv = seededFloats(n * k, 22);
    const bv = seededFloats(n, 23);
    const rv = seededFloats(m * n, 24);
    const x = gpu.upload(xv, [m, k]);
    const w = gpu.upload(wv, [n, k]);
    const b = gpu.upload(bv, [n]);
    const res = gpu.upload(rv, [m, n]);
    for (const variant of ["cpuR64w32", "cpuR64w8"] as const) {
      for (const act of ["gelu_tanh", "silu"] as const) {
        const y = await linear(gpu, x, w, b, { activation: act, residual: res, variant });
        // As above: the activations are at most ~1.1-Lipschitz, + 1e-6 for the f32 exp/tanh.
        const err = maxAbsError(await gpu.read(y), refLinear(xv, wv, bv, m, k, n, ACT64[act], rv));
        expect(err, `${variant} ${act}`).toBeLessThanOrEqual(1.1 * 2 * f32Bound(k) + 1e-6);
        y.dispose();
      }
    }
    for (const t of [x, w, b, res]) t.dispose();
  });
});

describe("linear input errors", () => {
  it("names both shapes on a K mismatch, and checks bias, residual and dtypes", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(seededFloats(12, 1), [3, 4]);
    const w = gpu.upload(seededFloats(10, 2), [2, 5]);
    await expect(linear(gpu, x, w)).rejects.toThrow(/x \[3, 4\] has K = 4 but weight \[2, 5\] has K = 5/);
    const w4 = gpu.upload(seededFloats(8, 2), [2, 4]);
    const badBias = gpu.upload(seededFloats(3, 3), [3]);
    await expect(linear(gpu, x, w4, badBias)).rejects.toThrow(/bias must be \[2\] \(N\), got \[3\]/);
    const badRes = gpu.upload(seededFloats(6, 3), [2, 3]);
    await expect(linear(gpu, x, w4, null, { residual: badRes })).rejects.toThrow(/residual must have the output shape \[3, 2\], got \[2, 3\]/);
    const wi = gpu.upload([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "i32");
    await expect(linear(gpu, x, wi)).rejects.toThrow(OpInputError);
    for (const t of [x, w, w4, badBias, badRes, wi]) t.dispose();
  });

  it("refuses a tensor larger than one storage binding, naming maxStorageBufferBindingSize", async () => {
    const gpu = await testGpu();
    const max = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
    // A weight whose view claims more bytes than one binding may hold (the op must stop before binding it).
    const k = 4;
    const n = Math.floor(max / (4 * k)) + 1;
    const buffer = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    const huge = new Tensor([n, k], "f32", buffer, 0, n * k * 4);
    const x = gpu.upload(seededFloats(4, 1), [1, 4]);
    await expect(linear(gpu, x, huge)).rejects.toThrow(GpuLimitError);
    await expect(linear(gpu, x, huge)).rejects.toThrow(/maxStorageBufferBindingSize/);
    x.dispose();
    buffer.destroy();
  });
});

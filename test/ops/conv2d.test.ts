import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDevice, GpuContext } from "../../src/gpu/device.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { conv2d, convOutSize, type Conv2dOptions, type QuantizedConvWeight } from "../../src/ops/conv2d.ts";
import { autoSplitK, kSlices, SPLIT_K_BELOW_WORKGROUPS, SPLIT_K_MIN_SLICE_TILES, SPLIT_K_TARGET_WORKGROUPS } from "../../src/ops/split-k.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { dequantizePacked, packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { OPS_CASE_RUNNERS } from "../../src/verify/ops-cases/index.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { conv2dRef, type ConvShape } from "../helpers/references.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

function casesOf(dir: string, op: string): OpsCase[] {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
  return m.cases.filter((c) => c.op === op);
}



/** README bound for conv vs float64: 1e-5·√K·max|x|·max|w| (inputs here lie in [−1, 1]). */
const convTol = (s: ConvShape) => 1e-5 * Math.sqrt(s.cin * s.kh * s.kw);

/**
 * The adapter's own choice ({}) and the two kernels every adapter can run: the implicit GEMM (GPUs) and the
 * barrier-free rows kernel (SwiftShader), plus the implicit GEMM split in 3 K ranges (GPUs split convs with few
 * output tiles; K tiles of 16, so K = 45 splits 16/16/13, K = 70 32/32/6, and K = 9 stays whole);
 * conv2d-cpu.test.ts covers lavapipe's conv2d_cpu variants.
 */
const KERNELS: Conv2dOptions[] = [{}, { kernel: "igemm" }, { kernel: "rows" }, { kernel: "igemm", splitK: 3 }];
const optsLabel = (o: Conv2dOptions) => (o.kernel ? `kernel ${o.kernel}${o.splitK ? `, ${o.splitK} K slices` : ""}` : "default kernel");

async function runConv(gpu: Gpu, s: ConvShape, withBias: boolean, seed: number, opts: Conv2dOptions = {}) {
  const xs = seededFloats(s.n * s.cin * s.h * s.w, seed, -1, 1);
  const ws = seededFloats(s.cout * s.cin * s.kh * s.kw, seed + 1, -1, 1);
  const bs = withBias ? seededFloats(s.cout, seed + 2, -1, 1) : null;
  const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w]);
  const w = gpu.upload(ws, [s.cout, s.cin, s.kh, s.kw]);
  const b = bs ? gpu.upload(bs, [s.cout]) : null;
  const y = await conv2d(gpu, x, w, b, { ...opts, stride: s.stride, padding: s.pad });
  const got = await gpu.read(y);
  const shape = y.shape;
  for (const t of [x, w, b, y]) t?.dispose();
  return { got, shape, want: conv2dRef(xs, ws, bs, s) };
}

describe("conv2d golden cases", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    for (const c of casesOf(dir, "conv2d")) {
      it(`${label}: ${c.file}`, async () => {
        const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
        const r = await OPS_CASE_RUNNERS.conv2d!(await testGpu(), st, c, undefined);
        expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      });
    }
  }
});

describe("conv2d vs float64", () => {
  // Not tile multiples (64 pixels × 64 channels × 16 K), Cout past one tile, odd sizes for stride 2,
  // a valid (pad 0) conv, a non-square kernel, 1×1 maps; 3×3 stride 1 rows of 8+ pixels (the rows kernel's 8-pixel
  // window path) with a partial last group of 8 and Cout not a multiple of its 4 channels.
  const shapes: ConvShape[] = [
    { n: 2, cin: 5, h: 9, w: 7, cout: 7, kh: 3, kw: 3, stride: 1, pad: 1 },
    { n: 2, cin: 5, h: 6, w: 13, cout: 6, kh: 3, kw: 3, stride: 1, pad: 1 },
    { n: 1, cin: 3, h: 5, w: 11, cout: 5, kh: 3, kw: 3, stride: 1, pad: 0 },
    { n: 1, cin: 3, h: 9, w: 7, cout: 4, kh: 3, kw: 3, stride: 2, pad: 1 },
    { n: 1, cin: 70, h: 5, w: 3, cout: 67, kh: 1, kw: 1, stride: 1, pad: 0 },
    { n: 2, cin: 4, h: 6, w: 8, cout: 3, kh: 3, kw: 3, stride: 1, pad: 0 },
    { n: 1, cin: 2, h: 5, w: 6, cout: 3, kh: 1, kw: 3, stride: 1, pad: 1 },
    { n: 3, cin: 1, h: 1, w: 1, cout: 1, kh: 3, kw: 3, stride: 1, pad: 1 },
    { n: 1, cin: 20, h: 12, w: 11, cout: 65, kh: 3, kw: 3, stride: 2, pad: 1 },
  ];
  for (const s of shapes) {
    for (const withBias of [true, false]) {
      it(`[${s.n},${s.cin},${s.h},${s.w}] → ${s.cout} k${s.kh}x${s.kw} s${s.stride} p${s.pad}${withBias ? " +bias" : ""}`, async () => {
        for (const opts of KERNELS) {
          const r = await runConv(await testGpu(), s, withBias, s.cin * 7 + s.cout, opts);
          expect(r.shape).toEqual([s.n, s.cout, convOutSize(s.h, s.kh, s.stride, s.pad), convOutSize(s.w, s.kw, s.stride, s.pad)]);
          expect(relativeMaxError(r.got, r.want), optsLabel(opts)).toBeLessThanOrEqual(convTol(s));
        }
      });
    }
  }

  it("f16 storage when the adapter has shader-f16", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      const t = gpu.upload(new Float32Array(9), [1, 1, 3, 3], "f16");
      await expect(conv2d(gpu, t, t, null)).rejects.toThrow(/f16/);
      return;
    }
    const s: ConvShape = { n: 1, cin: 6, h: 7, w: 5, cout: 9, kh: 3, kw: 3, stride: 1, pad: 1 };
    const x = gpu.upload(seededFloats(6 * 35, 91, -1, 1), [1, 6, 7, 5], "f16");
    const w = gpu.upload(seededFloats(9 * 54, 92, -1, 1), [9, 6, 3, 3], "f16");
    const b = gpu.upload(seededFloats(9, 93, -1, 1), [9], "f16");
    const want = conv2dRef(await gpu.read(x), await gpu.read(w), await gpu.read(b), s);
    // The default kernel, and the implicit GEMM in 3 K ranges of 16, 16 and 22 (f32 partial sums, one f16 rounding).
    for (const opts of [{}, { kernel: "igemm", splitK: 3 }] as Conv2dOptions[]) {
      const y = await conv2d(gpu, x, w, b, { ...opts, stride: 1, padding: 1 });
      expect(y.dtype).toBe("f16");
      // f32 accumulation; the f16 output rounding (2^-12·|y|, |y| ≲ 6) dominates: measured 2.6e-4 of
      // max(|y|, 1) on lavapipe, bound 1e-3.
      expect(relativeMaxError(await gpu.read(y), want), optsLabel(opts)).toBeLessThanOrEqual(1e-3);
      y.dispose();
    }
    for (const t of [x, w, b]) t.dispose();
  });

  it("rejects mismatched channels, bias and a kernel larger than the input", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(new Float32Array(640 * 4), [1, 640, 2, 2]);
    const w = gpu.upload(new Float32Array(2 * 320 * 9), [2, 320, 3, 3]);
    const w640 = gpu.upload(new Float32Array(2 * 640 * 9), [2, 640, 3, 3]);
    const b = gpu.upload(new Float32Array(3), [3]);
    await expect(conv2d(gpu, x, w, null, { padding: 1 })).rejects.toThrow("conv2d: weight has 320 input channels, input has 640");
    await expect(conv2d(gpu, x, w640, b, { padding: 1 })).rejects.toThrow("conv2d: bias must have shape [2], got [3]");
    await expect(conv2d(gpu, x, w640, null, { padding: 0 })).rejects.toThrow("does not fit input 2x2");
    await expect(conv2d(gpu, x, w640, null, { stride: 0 })).rejects.toThrow("stride must be a positive integer");
    await expect(conv2d(gpu, x, w640, null, { padding: 1, splitK: 0 })).rejects.toThrow("conv2d: splitK must be a positive integer, got 0");
    for (const t of [x, w, w640, b]) t.dispose();
  });
});

describe("conv2d split along K on GPUs", () => {
  it("splits only grids under SPLIT_K_BELOW_WORKGROUPS, toward SPLIT_K_TARGET_WORKGROUPS, keeping SPLIT_K_MIN_SLICE_TILES K tiles per slice", () => {
    // SD-Turbo 512² on 128×64 tiles: 3×3 320→320 @64² (160 workgroups, 180 K tiles), 640→640 @32² (80, 360),
    // 1280→1280 @16² (40, 720) and @8² (20, 720), and a small conv whose K allows one slice only.
    expect([[160, 180], [80, 360], [40, 720], [20, 720], [2, 15]].map(([w, k]) => autoSplitK(w!, k!))).toEqual([1, 4, 7, 13, 1]);
    expect(autoSplitK(SPLIT_K_BELOW_WORKGROUPS - 1, 1e6)).toBe(Math.ceil(SPLIT_K_TARGET_WORKGROUPS / (SPLIT_K_BELOW_WORKGROUPS - 1)));
    expect(autoSplitK(1, 5 * SPLIT_K_MIN_SLICE_TILES + 7)).toBe(5);
  });

  it("kSlices: whole tiles per slice, no empty slice, copies within one binding; 0 or 1 K tile never splits", async () => {
    const gpu = await testGpu();
    const limit = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
    expect(kSlices(gpu, 4, 23, 1024)).toEqual({ slices: 4, sliceTiles: 6 }); // 6 + 6 + 6 + 5
    expect(kSlices(gpu, 5, 8, 1024)).toEqual({ slices: 4, sliceTiles: 2 }); // 5 would leave a slice empty
    expect(kSlices(gpu, 9, 3, 1024)).toEqual({ slices: 3, sliceTiles: 1 });
    expect(kSlices(gpu, 8, 100, Math.floor(limit / 2))).toEqual({ slices: 2, sliceTiles: 50 });
    expect(kSlices(gpu, 8, 100, limit)).toEqual({ slices: 1, sliceTiles: 100 });
    expect([kSlices(gpu, 4, 1, 64), kSlices(gpu, 4, 0, 64)]).toEqual([{ slices: 1, sliceTiles: 1 }, { slices: 1, sliceTiles: 1 }]);
  });

  it("a GPU adapter splits a conv with few output tiles and matches float64; the partial sums are poisoned first", async () => {
    // This machine's adapter is a CPU one (never split): a device of its own is told otherwise, so the GPU rule runs.
    const ctx = await createDevice();
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false }));
    gpu.poisonOutputs = true;
    // 8×8 pixels × 70 channels = 2 workgroups; K = 40·9 = 360 in 23 tiles of 16 → 2 slices: k < 192 and the other 168.
    const s: ConvShape = { n: 1, cin: 40, h: 8, w: 8, cout: 70, kh: 3, kw: 3, stride: 1, pad: 1 };
    const labels: string[] = [];
    for (const withBias of [true, false]) {
      gpu.startProfiling();
      const r = await runConv(gpu, s, withBias, 5);
      // (The profiler lists kernels slowest first: sorted per run.)
      labels.push(...(await gpu.stopProfiling()).map((t) => t.label).filter((l) => !l.startsWith("fill")).sort());
      expect(relativeMaxError(r.got, r.want), withBias ? "bias" : "no bias").toBeLessThanOrEqual(convTol(s));
    }
    ctx.destroy();
    expect(labels).toEqual(["conv2d_igemm_3x3_wfloat_splitk_f32", "split_k_sum_bias_f32", "conv2d_igemm_3x3_wfloat_splitk_f32", "split_k_sum_f32"]);
  });
});

describe("conv2d with quantized weights (dequantized in the weight read)", () => {
  // K = Cin·9 = 288 splits into groups of 32; Cout 19 and 9×7 / 9×10 maps are not tile multiples (rows of 10 take
  // the rows kernel's 8-pixel window path).
  const cases: { scheme: QuantSchemeId; groupSize: number | "per-channel"; w: number }[] = [
    { scheme: "W8A16", groupSize: "per-channel", w: 7 },
    { scheme: "W4A8", groupSize: 32, w: 7 },
    { scheme: "W4A16", groupSize: 32, w: 7 },
    { scheme: "W8A16", groupSize: "per-channel", w: 10 },
    { scheme: "W4A16", groupSize: 32, w: 10 },
  ];
  for (const { scheme, groupSize, w } of cases) {
    const s: ConvShape = { n: 1, cin: 32, h: 9, w, cout: 19, kh: 3, kw: 3, stride: 1, pad: 1 };
    it(`${scheme} group ${groupSize} ${s.h}×${s.w} matches the float conv of the dequantized weight`, async () => {
      const gpu = await testGpu();
      const format = QUANT_FORMATS[scheme];
      const k = s.cin * s.kh * s.kw;
      const xs = seededFloats(s.cin * s.h * s.w, 101, -1, 1);
      const wf = seededFloats(s.cout * k, 102, -1, 1);
      const packed = packWeight(format, quantizeWeight(wf, s.cout, k, format, groupSize));
      const weight: QuantizedConvWeight = {
        format,
        shape: [s.cout, s.cin, s.kh, s.kw],
        groupSize: packed.groupSize,
        codes: gpu.upload(packed.words, [s.cout, packed.words.length / s.cout], "u32"),
        scales: gpu.upload(packed.scales, [s.cout, packed.scales.length / s.cout]),
        zeroPoints: packed.zeroPoints ? gpu.upload(packed.zeroPoints, [s.cout, packed.zeroPoints.length / s.cout]) : null,
      };
      const x = gpu.upload(xs, [1, s.cin, s.h, s.w]);
      const bs = seededFloats(s.cout, 103, -1, 1);
      const b = gpu.upload(bs, [s.cout]);
      const want = conv2dRef(xs, dequantizePacked(packed), bs, s);
      for (const opts of KERNELS) {
        const y = await conv2d(gpu, x, weight, b, { ...opts, stride: 1, padding: 1 });
        // Same bound as the float conv: the dequantized weight is exact up to one f32 rounding (|w| ≤ 1).
        expect(relativeMaxError(await gpu.read(y), want), optsLabel(opts)).toBeLessThanOrEqual(convTol(s));
        y.dispose();
      }
      for (const t of [x, b, weight.codes, weight.scales, weight.zeroPoints]) t?.dispose();
    });
  }

  it("rejects a group size that does not divide K", async () => {
    const gpu = await testGpu();
    const format = QUANT_FORMATS.W4A8;
    const x = gpu.upload(new Float32Array(5 * 4), [1, 5, 2, 2]);
    const codes = gpu.upload(new Uint32Array(2 * 6), [2, 6], "u32");
    const scales = gpu.upload(new Float32Array(2), [2, 1]);
    const weight: QuantizedConvWeight = { format, shape: [2, 5, 3, 3], groupSize: 32, codes, scales };
    await expect(conv2d(gpu, x, weight, null, { padding: 1 })).rejects.toThrow("conv2d: K = Cin·kh·kw = 45 is not a multiple of the group size 32");
    for (const t of [x, codes, scales]) t.dispose();
  });
});

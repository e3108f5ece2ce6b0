// shaders/conv2d_cpu.wgsl (the CPU-adapter conv): which kernel runs where, and every variant against a
// float64 reference on awkward shapes. Outputs are poisoned with NaN before the kernel writes
// (testGpu), and relativeMaxError counts a NaN left in the output as an infinite error.
import { describe, expect, it } from "vitest";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { CONV2D_CPU_VARIANTS, DEFAULT_CONV2D_CPU_VARIANT, LARGE_CONV2D_CPU_VARIANT, conv2d, conv2dCpuVariantFor, convOutSize, type Conv2dKernelChoice, type QuantizedConvWeight } from "../../src/ops/conv2d.ts";
import { hasCpuSubgroupKernels, SMALL_CPU_FLOPS } from "../../src/ops/matmul-kernel.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { dequantizePacked, packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";
import { conv2dRef } from "../helpers/references.ts";

interface ConvShape { n: number; cin: number; h: number; w: number; cout: number; k: 1 | 3; stride: 1 | 2; pad: number }

/** README bound for conv vs float64: 1e-5·√K·max|x|·max|w| (inputs here lie in [−1, 1]). */
const convTol = (s: ConvShape) => 1e-5 * Math.sqrt(s.cin * s.k * s.k);
const label = (s: ConvShape) => `[${s.n},${s.cin},${s.h},${s.w}]→${s.cout} k${s.k} s${s.stride} p${s.pad}`;

/** Runs conv2d under the profiler; returns y and the labels of the kernels that ran. */
async function convLabels(gpu: Gpu, x: Tensor, w: Tensor | QuantizedConvWeight, b: Tensor | null, s: ConvShape, kernel?: Conv2dKernelChoice) {
  gpu.startProfiling();
  const y = await conv2d(gpu, x, w, b, { stride: s.stride, padding: s.pad, kernel });
  const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("conv2d"));
  return { y, labels };
}

// Odd H/W, W < 4 and W = 1 (a lane's pixels run past the row), Cout not a multiple of 16 or 8, Cin not a
// multiple of 8 (K = 9·Cin not a multiple of 32, the last weight chunk part empty), batch 2, pad 0
// (3×3 s1), odd sizes for stride 2, 1×1 maps whose H·W is not a multiple of 4 or 8.
const SHAPES: ConvShape[] = [
  { n: 2, cin: 5, h: 9, w: 7, cout: 19, k: 3, stride: 1, pad: 1 },
  { n: 1, cin: 13, h: 5, w: 3, cout: 7, k: 3, stride: 1, pad: 1 },
  { n: 1, cin: 9, h: 4, w: 1, cout: 17, k: 3, stride: 1, pad: 1 },
  { n: 2, cin: 4, h: 6, w: 11, cout: 3, k: 3, stride: 1, pad: 0 },
  { n: 2, cin: 11, h: 9, w: 13, cout: 18, k: 3, stride: 2, pad: 1 },
  { n: 1, cin: 3, h: 4, w: 2, cout: 5, k: 3, stride: 2, pad: 1 },
  { n: 2, cin: 70, h: 5, w: 3, cout: 21, k: 1, stride: 1, pad: 0 },
  { n: 1, cin: 6, h: 3, w: 3, cout: 9, k: 1, stride: 1, pad: 0 },
];

describe("conv2d kernel choice", () => {
  it("conv2d_cpu runs 3x3 s1/s2 and 1x1 s1 p0 on CPU adapters with 8-lane subgroups, the implicit GEMM their other shapes; other CPU adapters run conv2d_rows, GPUs the implicit GEMM", async () => {
    const gpu = await testGpu();
    const cpu = hasCpuSubgroupKernels(gpu);
    // The test device is lavapipe unless QSCHED_ADAPTER picks another: there the CPU kernel must run.
    if (!process.env.QSCHED_ADAPTER) expect(cpu, `lavapipe (${gpu.ctx.describe()}) should have 8-lane subgroups`).toBe(true);
    const cases: [ConvShape, string][] = [
      [{ n: 1, cin: 2, h: 5, w: 5, cout: 3, k: 3, stride: 1, pad: 1 }, "conv2d_cpu_cpuR16p8w8_3x3s1_wfloat_f32"],
      // Stride 2 takes conv2d_cpu from SMALL_CPU_FLOPS (SD's downsamplers); small ones the implicit GEMM (compile time).
      [{ n: 1, cin: 64, h: 64, w: 64, cout: 64, k: 3, stride: 2, pad: 1 }, "conv2d_cpu_cpuR16p8w32_3x3s2_wfloat_f32"],
      [{ n: 1, cin: 2, h: 5, w: 5, cout: 3, k: 3, stride: 2, pad: 1 }, "conv2d_igemm_3x3_wfloat_f32"],
      [{ n: 1, cin: 2, h: 5, w: 5, cout: 3, k: 1, stride: 1, pad: 0 }, "conv2d_cpu_cpuR16p8w8_1x1_wfloat_f32"],
      // 1×1 with padding is not a plain matmul over H·W: the implicit GEMM runs it.
      [{ n: 1, cin: 2, h: 5, w: 5, cout: 3, k: 1, stride: 1, pad: 1 }, "conv2d_igemm_1x1_wfloat_f32"],
    ];
    for (const [s, want] of cases) {
      const x = gpu.upload(seededFloats(s.cin * s.h * s.w, 1), [1, s.cin, s.h, s.w]);
      const w = gpu.upload(seededFloats(s.cout * s.cin * s.k * s.k, 2), [s.cout, s.cin, s.k, s.k]);
      const { y, labels } = await convLabels(gpu, x, w, null, s);
      // Adapters without the 8-lane kernels: SwiftShader-like CPU adapters take conv2d_rows, GPUs the implicit GEMM.
      const other = gpu.ctx.caps.cpu ? `conv2d_rows_${s.k}x${s.k}_wfloat_f32` : `conv2d_igemm_${s.k}x${s.k}_wfloat_f32`;
      expect(labels, label(s)).toEqual([cpu ? want : other]);
      for (const t of [x, w, y]) t.dispose();
    }
    // 32 channels per subgroup for convs of 2^28 FLOPs and up whose Cout fills them (SD's 320–1280, the VAE's 128–512),
    // else 16; 8-lane workgroups where a 32-lane one would idle over 1/8 of its lanes (SD's 8² maps: 8 pixel groups).
    const big = 2 ** 28;
    expect([3, 19, 32, 36, 288, 320, 1280].map((c) => conv2dCpuVariantFor(c, big, 512))).toEqual(
      ["cpuR16p8w32", "cpuR16p8w32", "cpuR32p8w32", "cpuR16p8w32", "cpuR32p8w32", "cpuR32p8w32", "cpuR32p8w32"]);
    expect([conv2dCpuVariantFor(320, big - 1, 512), conv2dCpuVariantFor(1280, big, 8), conv2dCpuVariantFor(64, 1e8, 8), conv2dCpuVariantFor(64, 1e8, 32)]).toEqual(
      ["cpuR16p8w32", "cpuR32p8w8", "cpuR16p8w8", "cpuR16p8w32"]);
    // Under SMALL_CPU_FLOPS (the toy's convs, ~5 MFLOP) only the 8-lane form runs: one pipeline per conv shape to compile.
    expect([conv2dCpuVariantFor(64, SMALL_CPU_FLOPS - 1, 32), conv2dCpuVariantFor(64, SMALL_CPU_FLOPS, 32)]).toEqual(["cpuR16p8w8", "cpuR16p8w32"]);
    // kernel: "igemm" forces the implicit GEMM (kernels-bench compares the two).
    const s = cases[0]![0];
    const x = gpu.upload(seededFloats(s.cin * s.h * s.w, 1), [1, s.cin, s.h, s.w]);
    const w = gpu.upload(seededFloats(s.cout * s.cin * 9, 2), [s.cout, s.cin, 3, 3]);
    const { y, labels } = await convLabels(gpu, x, w, null, s, "igemm");
    expect(labels).toEqual(["conv2d_igemm_3x3_wfloat_f32"]);
    for (const t of [x, w, y]) t.dispose();
  });
});

describe("conv2d_cpu vs float64", () => {
  // Every variant on the hot shape (3×3 s1) and the four that run by default (16 / 32 channels per subgroup, 32- / 8-lane
  // workgroups) on every shape, with and without bias.
  const byDefault = (v: string) => ["cpuR16p8w32", "cpuR32p8w32", "cpuR16p8w8", "cpuR32p8w8"].includes(v);
  const runs: [Conv2dKernelChoice, ConvShape[]][] = (Object.keys(CONV2D_CPU_VARIANTS) as Conv2dKernelChoice[]).map((v) => [
    v,
    byDefault(v) ? SHAPES : SHAPES.filter((s) => s.k === 3 && s.stride === 1),
  ]);
  for (const [variant, shapes] of runs) {
    it(`${variant}: awkward shapes`, async () => {
      const gpu = await testGpu();
      const cpu = hasCpuSubgroupKernels(gpu);
      for (const s of shapes) {
        for (const withBias of [true, false]) {
          const seed = s.cin * 7 + s.cout + (withBias ? 1 : 0);
          const xs = seededFloats(s.n * s.cin * s.h * s.w, seed, -1, 1);
          const ws = seededFloats(s.cout * s.cin * s.k * s.k, seed + 1, -1, 1);
          const bs = withBias ? seededFloats(s.cout, seed + 2, -1, 1) : null;
          const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w]);
          const w = gpu.upload(ws, [s.cout, s.cin, s.k, s.k]);
          const b = bs ? gpu.upload(bs, [s.cout]) : null;
          const { y, labels } = await convLabels(gpu, x, w, b, s, variant);
          const what = `${variant} ${label(s)}${withBias ? " +bias" : ""}`;
          if (cpu) expect(labels[0], what).toMatch(new RegExp(`^conv2d_cpu_${variant}_`));
          expect(y.shape, what).toEqual([s.n, s.cout, convOutSize(s.h, s.k, s.stride, s.pad), convOutSize(s.w, s.k, s.stride, s.pad)]);
          // f32 sums in another order than float64: the README conv bound.
          expect(relativeMaxError(await gpu.read(y), conv2dRef(xs, ws, bs, { ...s, kh: s.k, kw: s.k })), what).toBeLessThanOrEqual(convTol(s));
          for (const t of [x, w, b, y]) t?.dispose();
        }
      }
    });
  }

  it("f16 storage (where the adapter has shader-f16)", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) return; // conv2d.test.ts checks the f16 rejection there
    for (const s of [SHAPES[0]!, SHAPES[4]!, SHAPES[6]!]) {
      const roundF16 = (v: Float32Array) => Float32Array.from(v, (a) => f16BitsToF32(f32ToF16Bits(a)));
      const xs = roundF16(seededFloats(s.n * s.cin * s.h * s.w, 91, -1, 1));
      const ws = roundF16(seededFloats(s.cout * s.cin * s.k * s.k, 92, -1, 1));
      const bs = roundF16(seededFloats(s.cout, 93, -1, 1));
      const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w], "f16");
      const w = gpu.upload(ws, [s.cout, s.cin, s.k, s.k], "f16");
      const b = gpu.upload(bs, [s.cout], "f16");
      // Small stride-2 convs default to the implicit GEMM on lavapipe, so those name the 16-channel variant themselves.
      const small: Conv2dKernelChoice | undefined = s.stride === 2 ? "cpuR16p8w8" : undefined;
      for (const kernel of hasCpuSubgroupKernels(gpu) ? [small, LARGE_CONV2D_CPU_VARIANT] : [undefined]) {
        const { y, labels } = await convLabels(gpu, x, w, b, s, kernel);
        if (hasCpuSubgroupKernels(gpu)) expect(labels[0]).toMatch(/^conv2d_cpu_.*_f16$/);
        expect(y.dtype).toBe("f16");
        // Inputs exact in f16, f32 sums; the f16 output rounding (2^-11 relative, |y| ≲ 10 here) dominates:
        // bound 1e-3 of max(|y|, 1), as in conv2d.test.ts.
        expect(relativeMaxError(await gpu.read(y), conv2dRef(xs, ws, bs, { ...s, kh: s.k, kw: s.k })), `${label(s)} ${kernel ?? "auto"}`).toBeLessThanOrEqual(1e-3);
        y.dispose();
      }
      for (const t of [x, w, b]) t.dispose();
    }
  });
});

describe("conv2d_cpu with quantized weights", () => {
  // K = 9·Cin = 288 and 576: int4 groups of 32 / 64 split a channel's 9 taps, so the 3 taps a lane reads
  // at one kh can straddle a code word and a scale group; Cout 19 is not a multiple of 16.
  const cases: { scheme: QuantSchemeId; groupSize: number | "per-channel"; scalesF16: boolean; s: ConvShape }[] = [
    { scheme: "W8A16", groupSize: "per-channel", scalesF16: false, s: { n: 2, cin: 32, h: 9, w: 7, cout: 19, k: 3, stride: 1, pad: 1 } },
    { scheme: "W4A8", groupSize: 32, scalesF16: false, s: { n: 1, cin: 32, h: 9, w: 7, cout: 19, k: 3, stride: 1, pad: 1 } },
    { scheme: "W4A16", groupSize: 32, scalesF16: false, s: { n: 1, cin: 32, h: 9, w: 7, cout: 19, k: 3, stride: 1, pad: 1 } },
    { scheme: "W4A16", groupSize: 64, scalesF16: true, s: { n: 1, cin: 64, h: 7, w: 9, cout: 19, k: 3, stride: 2, pad: 1 } },
    { scheme: "W8A16", groupSize: "per-channel", scalesF16: true, s: { n: 1, cin: 40, h: 5, w: 3, cout: 19, k: 1, stride: 1, pad: 0 } },
    { scheme: "W4A8", groupSize: 32, scalesF16: false, s: { n: 1, cin: 64, h: 5, w: 3, cout: 19, k: 1, stride: 1, pad: 0 } },
  ];
  for (const { scheme, groupSize, scalesF16, s } of cases) {
    it(`${scheme} group ${groupSize}${scalesF16 ? " f16 scales" : ""} ${label(s)} matches the float conv of the dequantized weight`, async () => {
      const gpu = await testGpu();
      const format = QUANT_FORMATS[scheme];
      const k = s.cin * s.k * s.k;
      const xs = seededFloats(s.n * s.cin * s.h * s.w, 101, -1, 1);
      const packed = packWeight(format, quantizeWeight(seededFloats(s.cout * k, 102, -1, 1), s.cout, k, format, groupSize));
      // f16 scales: the packed f32 scales rounded to f16 on upload; the reference dequantizes with the same values.
      const scaleDType = scalesF16 ? "f16" : "f32";
      if (scalesF16) {
        const r = (v: Float32Array) => Float32Array.from(v, (a) => f16BitsToF32(f32ToF16Bits(a)));
        packed.scales = r(packed.scales);
        if (packed.zeroPoints) packed.zeroPoints = r(packed.zeroPoints);
      }
      const weight: QuantizedConvWeight = {
        format,
        shape: [s.cout, s.cin, s.k, s.k],
        groupSize: packed.groupSize,
        codes: gpu.upload(packed.words, [s.cout, packed.words.length / s.cout], "u32"),
        scales: gpu.upload(packed.scales, [s.cout, packed.scales.length / s.cout], scaleDType),
        zeroPoints: packed.zeroPoints ? gpu.upload(packed.zeroPoints, [s.cout, packed.zeroPoints.length / s.cout], scaleDType) : null,
      };
      const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w]);
      const bs = seededFloats(s.cout, 103, -1, 1);
      const b = gpu.upload(bs, [s.cout]);
      const want = conv2dRef(xs, dequantizePacked(packed), bs, { ...s, kh: s.k, kw: s.k });
      // The adapter's choice (16 channels for Cout 19; named for stride 2, whose small convs default to the implicit
      // GEMM on lavapipe), and on lavapipe the 32-channel variant UNet convs take.
      const small: Conv2dKernelChoice | undefined = s.stride === 2 ? "cpuR16p8w8" : undefined;
      for (const kernel of hasCpuSubgroupKernels(gpu) ? [small, LARGE_CONV2D_CPU_VARIANT] : [undefined]) {
        const { y, labels } = await convLabels(gpu, x, weight, b, s, kernel);
        if (hasCpuSubgroupKernels(gpu)) expect(labels[0]).toMatch(/^conv2d_cpu_/);
        // Same bound as the float conv: the dequantized weight is exact up to one f32 rounding (|w| ≤ 1), and
        // int8's scale applied after the sum moves the result by a few f32 roundings of |y|.
        expect(relativeMaxError(await gpu.read(y), want), kernel ?? "auto").toBeLessThanOrEqual(convTol(s));
        y.dispose();
      }
      for (const t of [x, b, weight.codes, weight.scales, weight.zeroPoints]) t?.dispose();
    });
  }
});

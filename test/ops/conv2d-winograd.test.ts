// Winograd F(2×2, 3×3) convs (src/ops/conv2d-winograd.ts) against float64 on awkward shapes, and when conv2d takes
// them by default. Outputs are poisoned with NaN before the kernels write (testGpu); a NaN left counts as an
// infinite error.
import { describe, expect, it } from "vitest";
import { GpuContext } from "../../src/gpu/device.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { conv2d } from "../../src/ops/conv2d.ts";
import { WINOGRAD_GPU_MAX_U_BYTES, WINOGRAD_MAX_TRANSIENT_BYTES, WINOGRAD_MIN_TILES, winogradApplies, winogradFits, winogradPlan } from "../../src/ops/conv2d-winograd.ts";
import { GPU_TILE_VARIANT, hasCpuSubgroupKernels } from "../../src/ops/matmul-kernel.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";
import { conv2dRef } from "../helpers/references.ts";

interface Shape { n: number; cin: number; h: number; w: number; cout: number }

/** float64 3×3 stride-1 pad-1 conv (test/helpers/references.ts). */
const conv3x3Ref = (x: ArrayLike<number>, wt: ArrayLike<number>, bias: ArrayLike<number> | null, s: Shape) => conv2dRef(x, wt, bias, { ...s, kh: 3, kw: 3, stride: 1, pad: 1 });

/**
 * The README conv bound 1e-5·√K relative to max|y|, times 4: Winograd sums each output from 16 transformed products
 * whose terms reach 4× the inputs (Bᵀ d B adds 4 values a side) and carry the ½ factors of G, so its float32 error is
 * a few times the direct sum's (Lavin & Gray report the same for F(2, 3)); still 1e-4 or less at these K.
 */
const tol = (s: Shape) => 4e-5 * Math.sqrt(s.cin * 9);
const label = (s: Shape) => `[${s.n},${s.cin},${s.h},${s.w}]→${s.cout}`;

// Odd H and W (the last tile half outside), 1×1 and 1-row images, batch 2, Cout not a multiple of 4 or 8, Cin a
// multiple of 4 (the CPU matmul kernel's K) but not of 8.
const SHAPES: Shape[] = [
  { n: 2, cin: 8, h: 9, w: 7, cout: 19 },
  { n: 1, cin: 4, h: 1, w: 1, cout: 5 },
  { n: 1, cin: 12, h: 5, w: 6, cout: 3 },
  { n: 2, cin: 20, h: 2, w: 13, cout: 17 },
  { n: 1, cin: 36, h: 11, w: 1, cout: 9 },
];

async function kernelLabels(gpu: Gpu, f: () => Promise<{ dispose(): void }>) {
  gpu.startProfiling();
  const y = await f();
  const labels = (await gpu.stopProfiling()).map((t) => t.label);
  y.dispose();
  return labels;
}

describe("conv2d by Winograd F(2×2, 3×3)", () => {
  for (const dtype of ["f32", "f16"] as const) {
    it(`${dtype}: awkward shapes match float64, with and without bias`, async () => {
      const gpu = await testGpu();
      if (dtype === "f16" && !gpu.ctx.caps.f16) return;
      for (const s of SHAPES) {
        for (const withBias of [true, false]) {
          const seed = s.cin * 5 + s.cout + (withBias ? 1 : 0);
          const round = (v: Float32Array) => (dtype === "f16" ? Float32Array.from(v, (x) => Math.fround(x * 256) / 256) : v);
          const xs = round(seededFloats(s.n * s.cin * s.h * s.w, seed));
          const ws = round(seededFloats(s.cout * s.cin * 9, seed + 1));
          const bs = withBias ? round(seededFloats(s.cout, seed + 2)) : null;
          const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w], dtype);
          const w = gpu.upload(ws, [s.cout, s.cin, 3, 3], dtype);
          const b = bs ? gpu.upload(bs, [s.cout], dtype) : null;
          gpu.startProfiling();
          const y = await conv2d(gpu, x, w, b, { stride: 1, padding: 1, kernel: "winograd" });
          const labels = (await gpu.stopProfiling()).map((t) => t.label);
          const what = `${dtype} ${label(s)}${withBias ? " +bias" : ""}`;
          expect(labels.filter((l) => l.startsWith("winograd")).sort(), what).toEqual([`winograd_input_${dtype}`, `winograd_output${withBias ? "_bias" : ""}_${dtype}`, `winograd_weights_${dtype}`]);
          expect(y.shape, what).toEqual([s.n, s.cout, s.h, s.w]);
          // f16: inputs on a 1/256 grid (exact in f16); V, M and y are stored as f16, so the bound is f16's rounding.
          const bound = dtype === "f16" ? 4e-3 : tol(s);
          expect(relativeMaxError(await gpu.read(y), conv3x3Ref(xs, ws, bs, s)), what).toBeLessThanOrEqual(bound);
          for (const t of [x, w, b, y]) t?.dispose();
        }
      }
    });
  }

  it("f16: inputs past 65504 / 4 (a VAE up block's residual stream) stay finite: V is stored ×¼, U ×4", async () => {
    // Bᵀ d B sums up to 4 inputs: an upsampled pixel (nearest 2×) gives exactly 4·x in V's centre plane, so inputs of
    // 20 000 overflowed f16 V to ∞ and every output with it, though the conv's outputs stay in the thousands.
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) return;
    const s: Shape = { n: 1, cin: 8, h: 12, w: 10, cout: 6 };
    // Channel 0 a smooth field near 20 000 (V's centre plane is then ≈ 4 × 20 000), the others ±100.
    const xs = Float32Array.from(seededFloats(s.cin * s.h * s.w, 91), (v, i) => Math.round(i < s.h * s.w ? 20000 + 200 * v : 100 * v));
    const ws = Float32Array.from(seededFloats(s.cout * s.cin * 9, 92, -1, 1), (v) => Math.fround(v * 256) / 256 / 32);
    const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w], "f16");
    const w = gpu.upload(ws, [s.cout, s.cin, 3, 3], "f16");
    const y = await conv2d(gpu, x, w, null, { stride: 1, padding: 1, kernel: "winograd" });
    const got = await gpu.read(y);
    expect(got.every(Number.isFinite), "every output finite").toBe(true);
    expect(relativeMaxError(got, conv3x3Ref(await gpu.read(x), ws, null, s))).toBeLessThanOrEqual(4e-3);
    for (const t of [x, w, y]) t.dispose();
  });

  // V and M in bands of tiles and U in chunks of output channels where they exceed one binding (the VAE's 512² stage,
  // SD's 2560 → 1280 weights): simulated with the binding limit the ops read lowered to 1100 or 2000 bytes (4 or 5
  // tiles a band: 16 × 4 or 6 channels × 4 B per tile); x, y and the weight still fit. The second shape's bands cross
  // from one image of the batch into the next. U also goes in chunks of at most WINOGRAD_MAX_TRANSIENT_BYTES with the
  // real limit (the last shape: U is 64 MiB whole). One chunk of U is alive at a time, so with several bands and chunks each
  // chunk makes the bands' V again; with one band V is made once.
  it("runs V and M in bands of tiles, and U in chunks of output channels, when they exceed one binding or 32 MiB", async () => {
    const gpu = await testGpu();
    // [shape, binding limit (undefined: the adapter's), bands, chunks of U, input transforms]: the third and fourth
    // need U [16, 12, 4] (3 KB) in 2 chunks of 6 channels.
    for (const [s, limit, bands, chunks, inputs] of [
      [{ n: 1, cin: 4, h: 9, w: 7, cout: 4 }, 1100, 5, 1, 5],
      [{ n: 2, cin: 4, h: 5, w: 5, cout: 4 }, 1100, 5, 1, 5],
      [{ n: 1, cin: 4, h: 5, w: 5, cout: 12 }, 2000, 2, 2, 4],
      [{ n: 1, cin: 4, h: 3, w: 3, cout: 12 }, 2000, 1, 2, 1],
      [{ n: 1, cin: 1024, h: 2, w: 3, cout: 1024 }, undefined, 1, 2, 1],
    ] as const) {
      const xs = seededFloats(s.n * s.cin * s.h * s.w, 21);
      const ws = seededFloats(s.cout * s.cin * 9, 22);
      const bs = seededFloats(s.cout, 23);
      const x = gpu.upload(xs, [s.n, s.cin, s.h, s.w]);
      const w = gpu.upload(ws, [s.cout, s.cin, 3, 3]);
      const b = gpu.upload(bs, [s.cout]);
      const limits = gpu.ctx.caps.limits;
      const real = limits.maxStorageBufferBindingSize;
      limits.maxStorageBufferBindingSize = limit ?? real;
      try {
        expect(winogradPlan(gpu, s.n, s.cin, s.cout, s.h, s.w, 4).chunk * chunks, label(s)).toBeGreaterThanOrEqual(s.cout);
        gpu.startProfiling();
        const y = await conv2d(gpu, x, w, b, { stride: 1, padding: 1, kernel: "winograd" });
        const times = await gpu.stopProfiling();
        expect(times.find((t) => t.label === "winograd_weights_f32")?.calls, label(s)).toBe(chunks);
        expect(times.find((t) => t.label === "winograd_input_f32")?.calls, label(s)).toBe(inputs);
        expect(times.find((t) => t.label === "winograd_output_bias_f32")?.calls, label(s)).toBe(bands * chunks);
        expect(relativeMaxError(await gpu.read(y), conv3x3Ref(xs, ws, bs, s)), label(s)).toBeLessThanOrEqual(tol(s));
        y.dispose();
      } finally {
        limits.maxStorageBufferBindingSize = real;
      }
      for (const t of [x, w, b]) t.dispose();
    }
  });

  it("is conv2d's default for wide, large float 3×3 s1 p1 convs on lavapipe-style adapters, not for small or narrow ones", async () => {
    const gpu = await testGpu();
    const cpu = hasCpuSubgroupKernels(gpu);
    if (!process.env.QSCHED_ADAPTER) expect(cpu).toBe(true);
    // 32×32 → 256 tiles, 128 channels: 302 MFLOP.
    expect(WINOGRAD_MIN_TILES).toBe(64);
    expect(winogradFits(gpu, 1, 128, 128, 32, 32, 4)).toBe(cpu);
    expect(winogradFits(gpu, 1, 64, 64, 32, 32, 4)).toBe(false); // narrow: measured no faster
    expect(winogradFits(gpu, 1, 1280, 1280, 16, 16, 4)).toBe(cpu); // SD's 16² maps: 64 tiles
    expect(winogradFits(gpu, 1, 1280, 1280, 8, 8, 4)).toBe(false); // 8² maps: 16 tiles, measured slower
    expect(winogradFits(gpu, 1, 128, 128, 8, 8, 4)).toBe(false); // 19 MFLOP, under SMALL_CPU_FLOPS (compile time)
    expect(winogradFits(gpu, 1, 64, 128, 32, 32, 4)).toBe(false); // narrow input
    expect(winogradFits(gpu, 1, 130, 128, 32, 32, 4)).toBe(false); // Cin not a multiple of 4
    // V [16, tiles, 128] at 512² is 512 MiB: it goes in bands. SD's 2560 → 1280 weights as U [16, 1280, 2560] are
    // 200 MB: U goes in chunks of output channels. A weight over one binding keeps the direct kernel.
    expect(winogradFits(gpu, 1, 128, 128, 512, 512, 4)).toBe(cpu);
    expect(winogradFits(gpu, 1, 2560, 1280, 16, 16, 4)).toBe(cpu);
    const limit = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
    expect(winogradApplies(gpu, 1, 4096, 4096, 8, 8, 4)).toBe(4096 * 4096 * 9 * 4 <= limit);
    const s: Shape = { n: 1, cin: 128, h: 32, w: 32, cout: 128 };
    const x = gpu.upload(seededFloats(s.cin * s.h * s.w, 3), [1, s.cin, s.h, s.w]);
    const w = gpu.upload(seededFloats(s.cout * s.cin * 9, 4), [s.cout, s.cin, 3, 3]);
    const labels = await kernelLabels(gpu, () => conv2d(gpu, x, w, null, { stride: 1, padding: 1 }));
    expect(labels.some((l) => l.startsWith("winograd_input")), labels.join(", ")).toBe(cpu);
    const direct = await kernelLabels(gpu, () => conv2d(gpu, x, w, null, { stride: 1, padding: 1, kernel: "cpuR16p8w32" }));
    expect(direct.some((l) => l.startsWith("winograd"))).toBe(false);
    for (const t of [x, w]) t.dispose();
  });

  it("keeps V and M bands within 32 MiB and U chunks within 128 MiB on GPUs, also where they bind far more (SDXL's VAE at 1024²)", async () => {
    const ctx = (await testGpu()).ctx;
    const limits = { ...ctx.caps.limits, maxStorageBufferBindingSize: 4 * 1024 ** 3 };
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false, limits }));
    // [n, Cin, Cout, H, W]: SDXL's VAE decoder at its 1024² stage (V would be 2.1 GB whole), SD's 2560 → 1280 conv.
    for (const [n, cin, cout, h, w] of [[1, 128, 128, 1024, 1024], [1, 256, 128, 1024, 1024], [1, 2560, 1280, 16, 16]] as const) {
      const { chunk, band } = winogradPlan(gpu, n, cin, cout, h, w, 4);
      const what = `[${n},${cin},${h},${w}]→${cout}`;
      expect(chunk, what).toBeGreaterThanOrEqual(1);
      expect(band, what).toBeGreaterThanOrEqual(1);
      expect(16 * chunk * cin * 4, `U ${what}`).toBeLessThanOrEqual(WINOGRAD_GPU_MAX_U_BYTES);
      expect(16 * band * Math.max(cin, chunk) * 4, `V, M ${what}`).toBeLessThanOrEqual(WINOGRAD_MAX_TRANSIENT_BYTES);
    }
    // The bands are as large as that allows: 32 MiB / (16 · 128 · 4 B) tiles. SD's 1280 → 1280 convs: U (105 MB) in one
    // chunk on GPUs, 4 of 320 channels on CPU adapters; 2560 → 1280 (210 MB): 2 of 640 on GPUs, 7 of 192 on CPU ones.
    expect(winogradPlan(gpu, 1, 128, 128, 1024, 1024, 4).band).toBe(4096);
    expect(winogradPlan(gpu, 1, 1280, 1280, 16, 16, 4).chunk).toBe(1280);
    expect(winogradPlan(gpu, 1, 2560, 1280, 16, 16, 4).chunk).toBe(640);
    const cpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: true, limits }));
    expect(winogradPlan(cpu, 1, 1280, 1280, 16, 16, 4).chunk).toBe(320);
    expect(winogradPlan(cpu, 1, 2560, 1280, 16, 16, 4).chunk).toBe(192);
    expect(WINOGRAD_MAX_TRANSIENT_BYTES).toBe(32 * 1024 * 1024);
    expect(WINOGRAD_GPU_MAX_U_BYTES).toBe(128 * 1024 * 1024);
  });

  it("on GPUs (a device told it is not a CPU adapter): the default where each GEMM gets the matmul tiles, with the tiles' results", async () => {
    const ctx = (await testGpu()).ctx;
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false }));
    // From one full row of matmul tiles (64 tiles of 2×2): SD's 64², 32² and 16² levels at 512²; not its 8² level.
    expect(winogradFits(gpu, 1, 320, 320, 64, 64, 4)).toBe(true);
    expect(winogradFits(gpu, 1, 640, 640, 32, 32, 4)).toBe(true);
    expect(winogradFits(gpu, 1, 1280, 1280, 16, 16, 4)).toBe(true);
    expect(winogradFits(gpu, 1, 1280, 1280, 8, 8, 4)).toBe(false);
    expect(winogradFits(gpu, 4, 1280, 1280, 8, 8, 4)).toBe(true); // a batch of 4: 64 tiles
    expect(winogradFits(gpu, 1, 64, 64, 64, 64, 4)).toBe(false); // narrow
    // 23 × 23 → 12 × 12 = 144 tiles (the last row and column half outside), Cout not a multiple of 4 or of the tiles;
    // 15 × 15 → 64 tiles, where a lone GEMM of 64 rows would take the rows kernel: the 16 GEMMs still take the tiles.
    for (const s of [{ n: 1, cin: 128, h: 23, w: 23, cout: 131 }, { n: 1, cin: 128, h: 15, w: 15, cout: 129 }] as Shape[]) {
      for (const dtype of gpu.ctx.caps.f16 ? (["f32", "f16"] as const) : (["f32"] as const)) {
        // f16: inputs on a 1/256 grid (exact in f16); V, M and y stored as f16, so the bound is f16's rounding.
        const round = (v: Float32Array) => (dtype === "f16" ? Float32Array.from(v, (x) => Math.fround(x * 256) / 256) : v);
        const xs = round(seededFloats(s.cin * s.h * s.w, 31));
        const ws = round(seededFloats(s.cout * s.cin * 9, 32));
        const bs = round(seededFloats(s.cout, 33));
        const [x, w, b] = [gpu.upload(xs, [1, s.cin, s.h, s.w], dtype), gpu.upload(ws, [s.cout, s.cin, 3, 3], dtype), gpu.upload(bs, [s.cout], dtype)];
        gpu.startProfiling();
        const y = await conv2d(gpu, x, w, b, { stride: 1, padding: 1 });
        const labels = (await gpu.stopProfiling()).map((t) => t.label);
        expect(labels.some((l) => l.startsWith(`winograd_input_${dtype}`)), labels.join(", ")).toBe(true);
        expect(labels.some((l) => l.includes(GPU_TILE_VARIANT)), labels.join(", ")).toBe(true);
        const bound = dtype === "f16" ? 4e-3 : tol(s);
        expect(relativeMaxError(await gpu.read(y), conv3x3Ref(xs, ws, bs, s)), `${dtype} ${label(s)}`).toBeLessThanOrEqual(bound);
        for (const t of [x, w, b, y]) t.dispose();
      }
    }
  });
});

/**
 * The kernels GPUs take where CPU adapters take others, run by vitest in Node (Dawn + lavapipe) and by the headless
 * Chromium page (SwiftShader) with the path forced: Winograd convs, the implicit-GEMM conv and the vec4-tile linear
 * split along K (split-k.ts), the tiled attention with each query tile that fits, the workgroup GEMV, group norm split over
 * workgroups, and the tiled dot4I8Packed linear. Outputs (partial sums included) are poisoned with NaN first.
 */
import { attention, attentionWorkgroupBytes, ATTENTION_QUERY_TILES } from "../../src/ops/attention.ts";
import { conv2d } from "../../src/ops/conv2d.ts";
import { linear } from "../../src/ops/linear.ts";
import { groupNormSilu } from "../../src/ops/norms.ts";
import { hasPackedIntegerDot } from "../../src/ops/quant-features.ts";
import { quantizedLinear } from "../../src/ops/quant-linear.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS } from "../../src/quant/formats.ts";
import { packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { bitExact } from "../../src/verify/compare.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { assert, assertClose } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";
import { attentionRef, conv2dRef, groupNormRef, refLinear } from "../helpers/references.ts";

/** Seeded x [n, cin, h, w], 3×3 weight and bias (seeds seed, seed + 1, seed + 2), as arrays and uploaded. */
function conv3x3Case(gpu: Gpu, n: number, cin: number, h: number, w: number, cout: number, seed: number) {
  const [xs, ws, bs] = [seeded(n * cin * h * w, seed), seeded(cout * cin * 9, seed + 1), seeded(cout, seed + 2)];
  return { xs, ws, bs, x: gpu.upload(xs, [n, cin, h, w]), wt: gpu.upload(ws, [cout, cin, 3, 3]), b: gpu.upload(bs, [cout]) };
}

export const gpuKernelCases: KernelCase[] = [
  {
    name: "conv2d by Winograd F(2×2, 3×3), asked for (GPUs take it by default from 128 channels and 64 tiles), matches float64",
    async run(gpu: Gpu) {
      // 2 images of 9×7 (the last tile row and column half outside), Cin a multiple of 4 but not of 8, Cout 19.
      const [n, cin, h, w, cout] = [2, 12, 9, 7, 19];
      const { xs, ws, bs, x, wt, b } = conv3x3Case(gpu, n, cin, h, w, cout, 34);
      gpu.startProfiling();
      const y = await conv2d(gpu, x, wt, b, { padding: 1, kernel: "winograd" });
      const labels = (await gpu.stopProfiling()).map((t) => t.label);
      assert(labels.some((l) => l.startsWith("winograd_input")), `Winograd did not run: ${labels.join(", ")}`);
      // test/ops/conv2d-winograd.test.ts's bound: 4× the README conv bound 1e-5·√K (transformed sums reach 4× the inputs).
      assertClose(await gpu.read(y), conv2dRef(xs, ws, bs, { n, cin, h, w, cout, kh: 3, kw: 3, stride: 1, pad: 1 }), 4e-5 * Math.sqrt(cin * 9), "Winograd");
      for (const t of [x, wt, b, y]) t.dispose();
    },
  },
  {
    name: "conv2d implicit GEMM split along K (2, 3 and 5 slices, the last one short) matches float64, with and without bias",
    async run(gpu: Gpu) {
      // K = 13·9 = 117 in 8 tiles of 16: 2 slices of 4 tiles, 3 of 3 (the last 21 k), 5 of 2 (4 slices; asked 5).
      // 2 images of 7×6 and 11 channels: neither pixel nor channel counts are tile multiples.
      const [n, cin, h, w, cout] = [2, 13, 7, 6, 11];
      const { xs, ws, bs, x, wt, b } = conv3x3Case(gpu, n, cin, h, w, cout, 31);
      for (const bias of [b, null]) {
        const want = conv2dRef(xs, ws, bias ? bs : null, { n, cin, h, w, cout, kh: 3, kw: 3, stride: 1, pad: 1 });
        for (const splitK of [2, 3, 5]) {
          const y = await conv2d(gpu, x, wt, bias, { padding: 1, kernel: "igemm", splitK });
          // f32 sums of 117 products of values in [−1, 1], summed in another order than float64: README bound 1e-5·√K.
          assertClose(await gpu.read(y), want, 1e-5 * Math.sqrt(cin * 9), `${splitK} K slices${bias ? " + bias" : ""}`);
          y.dispose();
        }
      }
      for (const t of [x, wt, b]) t.dispose();
    },
  },
  {
    name: "tiled attention with its queries shared, restaged per K/V tile and read from storage matches float64 (d64 and d24)",
    async run(gpu: Gpu) {
      // 70 queries (past one 64-query workgroup), 45 keys (a full and a partial K/V tile of 32); d24: the restaged
      // tile's 32 score rows outnumber its 24 query channels.
      for (const [lq, lk, heads, d] of [[70, 45, 2, 64], [70, 45, 1, 24]] as const) {
        const w = heads * d;
        const [qs, ks, vs] = [41, 42, 43].map((seed) => seeded((seed === 41 ? lq : lk) * w, seed + d));
        const q = gpu.upload(qs!, [1, lq, w]);
        const k = gpu.upload(ks!, [1, lk, w]);
        const v = gpu.upload(vs!, [1, lk, w]);
        const want = attentionRef(qs!, ks!, vs!, 1, lq, lk, heads, d);
        const limit = gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
        for (const queries of ATTENTION_QUERY_TILES.filter((m) => attentionWorkgroupBytes(d, m) <= limit)) {
          const y = await attention(gpu, q, k, v, heads, { kernel: "tiled", queries });
          // README bound for attention vs float64 (f32 math): 2e-5.
          assertClose(await gpu.read(y), want, 2e-5, `d${d} queries ${queries}`);
          y.dispose();
        }
        for (const t of [q, k, v]) t.dispose();
      }
    },
  },
  {
    name: "groupNorm + SiLU with each group split over workgroups of 100 values (chunk statistics merged) matches float64",
    async run(gpu: Gpu) {
      // 2 images, 6 channels in 3 groups, 13×17 maps: 442 values per group = 4 chunks of 100 and one of 42. Offset
      // inputs (mean ≈ 3) test the two-pass variance and its merge.
      const [n, c, h, w, groups] = [2, 6, 13, 17, 3];
      const xs = seeded(n * c * h * w, 61, 2, 4);
      const gs = seeded(c, 62, 0.5, 1.5);
      const bs = seeded(c, 63, -0.5, 0.5);
      const [x, gamma, beta] = [gpu.upload(xs, [n, c, h, w]), gpu.upload(gs, [c]), gpu.upload(bs, [c])];
      const y = await groupNormSilu(gpu, x, gamma, beta, { groups, eps: 1e-6, chunk: 100 });
      // README bound for the norms vs float64: 1e-5 relative.
      assertClose(await gpu.read(y), groupNormRef(xs, [n, c, h, w], gs, bs, groups, 1e-6, true), 1e-5, "chunks of 100");
      for (const t of [x, gamma, beta, y]) t.dispose();
    },
  },
  {
    name: "W8A8 / W4A8 on the tiled dot4I8Packed kernel give the bits of linear_int8.wgsl's dot4 path (70 tokens × 67 channels, K 96)",
    async run(gpu: Gpu) {
      if (!(await hasPackedIntegerDot())) return; // both paths need the language feature
      const [m, n, k] = [70, 67, 96];
      const x = gpu.upload(seeded(m * k, 71, -3, 2), [m, k]);
      for (const scheme of ["W8A8", "W4A8"] as const) {
        const f = QUANT_FORMATS[scheme];
        const qw = uploadQuantizedWeight(gpu, packWeight(f, quantizeWeight(seeded(n * k, 72), n, k, f, scheme === "W4A8" ? 32 : "per-channel")));
        const tiles = await quantizedLinear(gpu, x, qw, undefined, { intKernel: "tiles" });
        const dot4 = await quantizedLinear(gpu, x, qw, undefined, { intKernel: "dot4" });
        // The same exact integer sums, scaled in the same order.
        assert(bitExact(await gpu.read(tiles), await gpu.read(dot4)), `${scheme}: tiled and dot4 outputs differ`);
        for (const t of [tiles, dot4]) t.dispose();
        disposeQuantizedWeight(qw);
      }
      x.dispose();
    },
  },
  {
    name: "linear: the vec4 tiles in 3 K slices and the workgroup GEMV match float64 with the fused epilogue silu(x·Wᵀ + b) + residual",
    async run(gpu: Gpu) {
      // K = 100 in 7 tiles of 16 (slices of 3, 3 and 1 tiles; the last 4 k); 37 rows and 19 columns, not tile multiples.
      const silu = (v: number) => v / (1 + Math.exp(-v));
      for (const [m, variant, splitK] of [[37, "t64x128k16r8v", 3], [1, "gemvWg", undefined], [5, "gemvWg", undefined]] as const) {
        const [k, n] = [100, 19];
        const [xs, ws, bs, rs] = [seeded(m * k, 51), seeded(n * k, 52), seeded(n, 53), seeded(m * n, 54)];
        const [x, w, b, r] = [gpu.upload(xs, [m, k]), gpu.upload(ws, [n, k]), gpu.upload(bs, [n]), gpu.upload(rs, [m, n])];
        const y = await linear(gpu, x, w, b, { activation: "silu", residual: r, variant, splitK });
        // README bound for f32 linears, 1e-5·√K absolute (|silu'| ≤ 1.1, so ×1.1), + 1e-6 for the f32 exp.
        const want = refLinear(xs, ws, bs, m, k, n, silu, rs);
        const scale = Math.max(1, ...Array.from(want, Math.abs));
        assertClose(await gpu.read(y), want, (1.1 * 1e-5 * Math.sqrt(k) + 1e-6) / scale, `${variant}${splitK ? ` in ${splitK} slices` : ""}, ${m} rows`);
        for (const t of [x, w, b, r, y]) t.dispose();
      }
    },
  },
];

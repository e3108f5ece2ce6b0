import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attention, attentionQueryTileFor, attentionRowsFits, attentionWorkgroupBytes, ATTENTION_QUERY_TILES, channelVec4s, type AttentionOptions } from "../../src/ops/attention.ts";
import { hasCpuSubgroupKernels } from "../../src/ops/matmul-kernel.ts";
import { createDevice, GpuContext } from "../../src/gpu/device.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { OPS_CASE_RUNNERS } from "../../src/verify/ops-cases/index.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { attentionRef } from "../helpers/references.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

function casesOf(dir: string, op: string): OpsCase[] {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
  return m.cases.filter((c) => c.op === op);
}


/**
 * Every kernel that takes the head size here: the tiled flash kernel, and where d % 8 == 0 (d ≤ 160) the rows kernel
 * with 3 rows per thread (partial threads) and, where the adapter has 8-lane subgroups (lavapipe), its subgroup form
 * with its default 2 rows and small problems' 1. Each takes lavapipe seconds to compile, so the list stays short.
 * On lavapipe the plain rows kernel (SwiftShader's; lavapipe runs the subgroup form) is checked at d ≤ 16 and d = 160
 * only: there every K/V value is a per-lane load, which lavapipe compiles into a loop, and from d = 24 to 80 (channel
 * loops unrolled) one pipeline took 16–36 s to compile cold, ~40 % of this file's cold time. Its code is the same for
 * every d; every d runs on SwiftShader, where it is the default (8 rows), in Chromium: the golden cases d8, d40, d64.
 */
function kernelsFor(gpu: Gpu, d: number): AttentionOptions[] {
  // The tiled kernel with each place of its queries that fits the adapter's workgroup memory (lavapipe's 32 KiB: all
  // three up to d40, restaged and storage at d64/d80, storage at d160).
  const limit = gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
  const tiled = ATTENTION_QUERY_TILES.filter((m) => attentionWorkgroupBytes(d, m) <= limit).map((queries) => ({ kernel: "tiled" as const, queries }));
  if (!attentionRowsFits(d)) return tiled;
  const subgroups = hasCpuSubgroupKernels(gpu);
  // 2 rows: large problems' default; 1 row: small problems' (under SMALL_CPU_FLOPS).
  const sg = subgroups ? [{ kernel: "rows" as const, rows: 2, sgShare: true }, { kernel: "rows" as const, rows: 1, sgShare: true }] : [];
  const plain = !subgroups || d <= 16 || d === 160 ? [{ kernel: "rows" as const, rows: 3, sgShare: false }] : [];
  return [...tiled, ...plain, ...sg];
}

/** README bound for attention vs float64 (f32 math): 2e-5. */
const ATTENTION_TOL = 2e-5;
/** f16 storage on f16-rounded inputs: output rounding 2^-12·|out| (|out| < 1) dominates; measured 2.4e-4 on lavapipe, bound 1e-3. */
const ATTENTION_F16_TOL = 1e-3;

describe("attention golden cases", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    for (const c of casesOf(dir, "attention")) {
      it(`${label}: ${c.file}`, async () => {
        const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
        const r = await OPS_CASE_RUNNERS.attention!(await testGpu(), st, c, undefined);
        expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      });
    }
  }
});

describe("attention vs float64", () => {
  // [B, Lq, Lk, H, d]: Lq past one workgroup (64) and Lk past K/V tiles, d not a multiple of 4,
  // d = 160 (SD's widest; 16-key tiles), single query / single key, cross-attention Lk = 77; for the rows kernel
  // (d % 8 == 0) Lk not a multiple of its 4-key blocks, Lq not a multiple of its rows or of 8 lanes, d = 64, 80, 160.
  const cases: [number, number, number, number, number][] = [
    [2, 70, 33, 3, 8],
    [1, 65, 77, 2, 40],
    [1, 5, 45, 1, 6],
    [1, 3, 20, 2, 160],
    [2, 1, 1, 4, 16],
    [1, 1, 130, 1, 80],
    [1, 19, 9, 2, 64],
    [1, 77, 6, 3, 24],
  ];
  for (const [b, lq, lk, heads, d] of cases) {
    it(`B${b} Lq${lq} Lk${lk} H${heads} d${d} (channel vec4s ${channelVec4s(d)})`, async () => {
      const gpu = await testGpu();
      const w = heads * d;
      const qs = seededFloats(b * lq * w, 1 + lq, -2, 2);
      const ks = seededFloats(b * lk * w, 2 + lk, -2, 2);
      const vs = seededFloats(b * lk * w, 3 + lk, -1, 1);
      const q = gpu.upload(qs, [b, lq, w]);
      const k = gpu.upload(ks, [b, lk, w]);
      const v = gpu.upload(vs, [b, lk, w]);
      const want = attentionRef(qs, ks, vs, b, lq, lk, heads, d);
      for (const opts of kernelsFor(gpu, d)) {
        const y = await attention(gpu, q, k, v, heads, opts);
        expect(y.shape).toEqual([b, lq, w]);
        expect(relativeMaxError(await gpu.read(y), want), JSON.stringify(opts)).toBeLessThanOrEqual(ATTENTION_TOL);
        y.dispose();
      }
      for (const t of [q, k, v]) t.dispose();
    });
  }

  // CLIP's text tower: query i sees keys j ≤ i. Lq = 77 (its length), 13 (one partial subgroup of rows) and 1.
  for (const [lq, heads, d] of [[77, 2, 64], [13, 3, 24], [1, 1, 8], [40, 2, 12]] as const) {
    it(`causal: Lq = Lk = ${lq}, H${heads} d${d}`, async () => {
      const gpu = await testGpu();
      const w = heads * d;
      const [qs, ks, vs] = [1, 2, 3].map((seed) => seededFloats(lq * w, 90 + seed, -2, 2));
      const [q, k, v] = [qs!, ks!, vs!].map((x) => gpu.upload(x, [1, lq, w]));
      const want = attentionRef(qs!, ks!, vs!, 1, lq, lq, heads, d, true);
      for (const opts of kernelsFor(gpu, d)) {
        const y = await attention(gpu, q!, k!, v!, heads, { ...opts, causal: true });
        expect(relativeMaxError(await gpu.read(y), want), JSON.stringify(opts)).toBeLessThanOrEqual(ATTENTION_TOL);
        y.dispose();
      }
      for (const t of [q!, k!, v!]) t.dispose();
    });
  }

  it("large scores (|q·k|/√d ≈ 100) stay finite and exact: the online max rescales", async () => {
    const gpu = await testGpu();
    const [lq, lk, d] = [9, 100, 16];
    const qs = seededFloats(lq * d, 71, -10, 10);
    const ks = seededFloats(lk * d, 72, -10, 10);
    const vs = seededFloats(lk * d, 73, -1, 1);
    const q = gpu.upload(qs, [1, lq, d]);
    const k = gpu.upload(ks, [1, lk, d]);
    const v = gpu.upload(vs, [1, lk, d]);
    const want = attentionRef(qs, ks, vs, 1, lq, lk, 1, d);
    for (const opts of kernelsFor(gpu, d)) {
      const y = await attention(gpu, q, k, v, 1, opts);
      // Scores ~100 amplify f32 rounding of q·k (|error| ≈ 1e-5·100 in the exponent): bound 1e-4.
      expect(relativeMaxError(await gpu.read(y), want), JSON.stringify(opts)).toBeLessThanOrEqual(1e-4);
      y.dispose();
    }
    for (const t of [q, k, v]) t.dispose();
  });

  it("f16 storage when the adapter has shader-f16", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      const t = gpu.upload(new Float32Array(8), [1, 1, 8], "f16");
      await expect(attention(gpu, t, t, t, 1)).rejects.toThrow(/f16/);
      return;
    }
    // d40: every kernel kernelsFor gives; d16: the plain rows kernel too, which kernelsFor leaves out at d40 on lavapipe
    // (SwiftShader, its default adapter, has no f16).
    const runs: [number, number, number, number, AttentionOptions[]][] = [
      [37, 50, 2, 40, kernelsFor(gpu, 40)],
      [11, 21, 1, 16, [{ kernel: "rows", rows: 3, sgShare: false }]],
    ];
    for (const [lq, lk, heads, d, kernels] of runs) {
      const q = gpu.upload(seededFloats(lq * heads * d, 81, -2, 2), [1, lq, heads * d], "f16");
      const k = gpu.upload(seededFloats(lk * heads * d, 82, -2, 2), [1, lk, heads * d], "f16");
      const v = gpu.upload(seededFloats(lk * heads * d, 83, -1, 1), [1, lk, heads * d], "f16");
      const ref = attentionRef(await gpu.read(q), await gpu.read(k), await gpu.read(v), 1, lq, lk, heads, d);
      for (const opts of kernels) {
        const y = await attention(gpu, q, k, v, heads, opts);
        expect(y.dtype).toBe("f16");
        expect(relativeMaxError(await gpu.read(y), ref), `d${d} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(ATTENTION_F16_TOL);
        y.dispose();
      }
      for (const t of [q, k, v]) t.dispose();
    }
  });

  it("rejects heads that do not divide the channels, and mismatched q/k/v", async () => {
    const gpu = await testGpu();
    const q = gpu.upload(new Float32Array(2 * 3 * 40), [2, 3, 40]);
    const k = gpu.upload(new Float32Array(2 * 5 * 48), [2, 5, 48]);
    const k1 = gpu.upload(new Float32Array(1 * 5 * 40), [1, 5, 40]);
    const v = gpu.upload(new Float32Array(2 * 4 * 40), [2, 4, 40]);
    const k40 = gpu.upload(new Float32Array(2 * 5 * 40), [2, 5, 40]);
    await expect(attention(gpu, q, q, q, 3)).rejects.toThrow("attention: heads 3 do not divide the channel dim 40");
    await expect(attention(gpu, q, k, k, 5)).rejects.toThrow("attention: channel mismatch: q has 40 channels, k 48, v 48");
    await expect(attention(gpu, q, k1, k1, 5)).rejects.toThrow("attention: batch mismatch");
    await expect(attention(gpu, q, k40, v, 5)).rejects.toThrow("attention: k has 5 tokens but v has 4");
    const wide = gpu.upload(new Float32Array(168), [1, 1, 168]);
    await expect(attention(gpu, wide, wide, wide, 1)).rejects.toThrow("attention: head dim 168 is not supported (1 to 160)");
    const empty = gpu.upload(new Float32Array(0), [1, 3, 0]);
    await expect(attention(gpu, empty, empty, empty, 1)).rejects.toThrow("attention: head dim 0 is not supported (1 to 160)");
    await expect(attention(gpu, q, q, q, 10, { kernel: "rows" })).rejects.toThrow("attention: the rows attention kernel needs a head dim that is a multiple of 8 and at most 160, got 4");
    await expect(attention(gpu, q, q, q, 5, { kernel: "rows", rows: 0 })).rejects.toThrow("attention: rows must be an integer from 1 to 16, got 0");
    // d160 restaged needs 60.75 KiB (20 KiB of K/V, a 40 KiB query tile that doubles as the score tile), over this adapter's limit.
    const d160 = gpu.upload(new Float32Array(160), [1, 1, 160]);
    await expect(attention(gpu, d160, d160, d160, 1, { kernel: "tiled", queries: "restaged" })).rejects.toThrow(/attention: the tiled kernel with queries "restaged" needs 62208 bytes of workgroup memory at head dim 160; this adapter allows \d+/);
    wide.dispose();
    d160.dispose();
    for (const t of [q, k, k1, v, k40]) t.dispose();
  });

  it("an adapter whose workgroup memory holds no form of the tiled kernel (16 KiB at d64) runs the rows kernel", async () => {
    // A device told its limit is WebGPU's default 16 KiB, and that it is a GPU (CPU adapters take the rows kernel anyway).
    const ctx = await createDevice();
    const limits = { ...ctx.caps.limits, maxComputeWorkgroupStorageSize: 16384 };
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false, limits }));
    gpu.poisonOutputs = true;
    const [lq, lk, heads, d] = [70, 45, 2, 64];
    const [qs, ks, vs] = [1, 2, 3].map((seed) => seededFloats((seed === 1 ? lq : lk) * heads * d, 60 + seed, -2, 2));
    const [q, k, v] = [gpu.upload(qs!, [1, lq, heads * d]), gpu.upload(ks!, [1, lk, heads * d]), gpu.upload(vs!, [1, lk, heads * d])];
    gpu.startProfiling();
    const y = await attention(gpu, q, k, v, heads);
    const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("attention"));
    expect(labels).toEqual(["attention_rows1_d64_f32"]);
    expect(relativeMaxError(await gpu.read(y), attentionRef(qs!, ks!, vs!, 1, lq, lk, heads, d))).toBeLessThanOrEqual(ATTENTION_TOL);
    // Asked for the tiled kernel there, it says what it needs.
    await expect(attention(gpu, q, k, v, heads, { kernel: "tiled" })).rejects.toThrow('attention: the tiled kernel with queries "storage" needs 17152 bytes of workgroup memory at head dim 64; this adapter allows 16384');
    ctx.destroy();
  });

  it("the tiled kernel keeps its queries in workgroup memory where the limit allows: shared, else restaged per K/V tile, else read from storage", () => {
    // SD's heads: 40 (SD 1.5 64²), 64 (SD 2.x, SDXL), 80, 160; limits: browsers' usual 32 KiB, an H200's 48 KiB, 20 KiB.
    const pick = (limit: number) => [40, 64, 80, 160].map((d) => attentionQueryTileFor(d, limit));
    expect(pick(32768)).toEqual(["shared", "restaged", "restaged", "storage"]);
    expect(pick(49152)).toEqual(["shared", "shared", "shared", "storage"]);
    expect(pick(20480)).toEqual(["restaged", "storage", "storage", "storage"]);
    // d64 byte counts (kernel comment): K/V 8 KiB + scores 8 KiB + statistics 0.75 KiB, + 16 KiB of queries when shared; restaged ones overlay the scores.
    expect(ATTENTION_QUERY_TILES.map((m) => attentionWorkgroupBytes(64, m))).toEqual([33536, 25344, 17152]);
  });
});

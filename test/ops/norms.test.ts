import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDevice, GpuContext } from "../../src/gpu/device.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { GROUP_NORM_CHUNK, groupNorm, groupNormSilu, layerNorm, type GroupNormOptions } from "../../src/ops/norms.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { OPS_CASE_RUNNERS } from "../../src/verify/ops-cases/index.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { groupNormRef } from "../helpers/references.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

/** Golden cases of one op from a folder's manifest. */
function casesOf(dir: string, op: string): OpsCase[] {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
  return m.cases.filter((c) => c.op === op);
}

async function runGolden(gpu: Gpu, dir: string, c: OpsCase) {
  const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
  return OPS_CASE_RUNNERS[c.op]!(gpu, st, c, undefined);
}


function layerNormRef(x: Float32Array, cols: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const mean = row.reduce((a, b) => a + b, 0) / cols;
    const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / cols + eps);
    for (let i = 0; i < cols; i++) y[r * cols + i] = (row[i]! - mean) * rstd * (gamma ? gamma[i]! : 1) + (beta ? beta[i]! : 0);
  }
  return y;
}

/** f32 norms vs float64: README bound 1e-5. */
const NORM_TOL = 1e-5;
/**
 * f16 storage vs float64 on the same (f16-rounded) inputs: the f16 output rounding (2^-12·|y|, |y| ≲ 4)
 * dominates; measured 3.8e-4 (group norm + SiLU) and 3.6e-4 (layer norm) on lavapipe, bound 1e-3.
 */
const NORM_F16_TOL = 1e-3;

describe("group_norm / layer_norm golden cases", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    for (const op of ["group_norm", "layer_norm"]) {
      for (const c of casesOf(dir, op)) {
        it(`${label}: ${c.file}`, async () => {
          const r = await runGolden(await testGpu(), dir, c);
          expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
        });
      }
    }
  }
});

describe("groupNorm vs float64", () => {
  // Awkward shapes: one channel per group, a group longer than the workgroup (1292 values), 1×1 maps.
  const shapes: { shape: number[]; groups: number }[] = [
    { shape: [2, 6, 5, 3], groups: 3 },
    { shape: [1, 8, 17, 19], groups: 2 },
    { shape: [3, 4, 1, 1], groups: 4 },
    { shape: [1, 5, 1, 7], groups: 5 },
  ];
  for (const { shape, groups } of shapes) {
    for (const silu of [false, true]) {
      it(`[${shape}] groups ${groups}${silu ? " + silu" : ""}`, async () => {
        const gpu = await testGpu();
        const n = shape.reduce((a, b) => a * b, 1);
        // Offset +3: a large mean tests the two-pass variance (E[x²]−E[x]² would cancel).
        const xs = seededFloats(n, 11 + groups, 2, 4);
        const gs = seededFloats(shape[1]!, 5, 0.5, 1.5);
        const bs = seededFloats(shape[1]!, 6, -0.5, 0.5);
        const x = gpu.upload(xs, shape);
        const gamma = gpu.upload(gs, [shape[1]!]);
        const beta = gpu.upload(bs, [shape[1]!]);
        const want = groupNormRef(xs, shape, gs, bs, groups, 1e-6, silu);
        // The adapter's default (8 threads per group on CPU adapters), the 256-thread tree GPUs run, 1 (serial), and a
        // group split over workgroups of 100 and of 7 values (GPUs' large groups; 1292 = 12·100 + 92, 30 = 4·7 + 2).
        const runs: GroupNormOptions[] = [{ groups, eps: 1e-6 }, { groups, eps: 1e-6, threads: 256 }, { groups, eps: 1e-6, threads: 1 }, { groups, eps: 1e-6, chunk: 100 }, { groups, eps: 1e-6, chunk: 7 }];
        for (const o of runs) {
          const y = await groupNorm(gpu, x, gamma, beta, { ...o, silu });
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe("f32");
          expect(relativeMaxError(await gpu.read(y), want), JSON.stringify(o)).toBeLessThanOrEqual(NORM_TOL);
          y.dispose();
        }
        for (const t of [x, gamma, beta]) t.dispose();
      });
    }
  }

  it("GPUs split large groups over workgroups (few groups × batch), CPU adapters never", async () => {
    // A device told it is a GPU: [1, 32, 64, 64] in 8 groups of 16384 values = 4 chunks of GROUP_NORM_CHUNK.
    const ctx = await createDevice();
    const gpu = new Gpu(new GpuContext(ctx.device, { ...ctx.caps, cpu: false }));
    gpu.poisonOutputs = true;
    const shape = [1, 32, 64, 64];
    const xs = seededFloats(32 * 4096, 31, 2, 4);
    const gs = seededFloats(32, 32, 0.5, 1.5);
    const bs = seededFloats(32, 33, -0.5, 0.5);
    const [x, gamma, beta] = [gpu.upload(xs, shape), gpu.upload(gs, [32]), gpu.upload(bs, [32])];
    gpu.startProfiling();
    const y = await groupNormSilu(gpu, x, gamma, beta, { groups: 8, eps: 1e-6 });
    const labels = (await gpu.stopProfiling()).map((t) => t.label).filter((l) => l.startsWith("group_norm")).sort();
    expect(labels).toEqual(["group_norm_apply_silu_f32", "group_norm_chunk_stats_f32"]);
    expect(16384 / GROUP_NORM_CHUNK).toBe(4);
    expect(relativeMaxError(await gpu.read(y), groupNormRef(xs, shape, gs, bs, 8, 1e-6, true))).toBeLessThanOrEqual(NORM_TOL);
    ctx.destroy();
  });

  it("large groups keep their precision: 2M values per group, centred away from 0 (a VAE group at 512²–1024²)", async () => {
    // One running f32 sum per thread over ~260k values lost ~1e-4 relative here (session 18 review: 5.4e-4 on an SDXL
    // 1024² VAE group); summing in blocks keeps it near f32 rounding.
    const gpu = await testGpu();
    const shape = [1, 8, 512, 512];
    const n = 8 * 512 * 512;
    const xs = seededFloats(n, 41, 18, 22);
    const gs = seededFloats(8, 42, 0.5, 1.5);
    const bs = seededFloats(8, 43, -0.5, 0.5);
    const [x, gamma, beta] = [gpu.upload(xs, shape), gpu.upload(gs, [8]), gpu.upload(bs, [8])];
    const y = await groupNorm(gpu, x, gamma, beta, { groups: 1, eps: 1e-6 });
    expect(relativeMaxError(await gpu.read(y), groupNormRef(xs, shape, gs, bs, 1, 1e-6, false))).toBeLessThanOrEqual(NORM_TOL);
    for (const t of [x, gamma, beta, y]) t.dispose();
  });

  it("f16 storage when the adapter has shader-f16", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      // The f32 path is what runs on such adapters; make the f16 request fail loudly instead.
      const x = gpu.upload(new Float32Array(8), [1, 2, 2, 2], "f16");
      await expect(groupNorm(gpu, x, x, x, { groups: 1, eps: 1e-5 })).rejects.toThrow(/f16/);
      return;
    }
    const shape = [2, 6, 7, 5];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = gpu.upload(seededFloats(n, 21, -2, 2), shape, "f16");
    const gamma = gpu.upload(seededFloats(6, 22, 0.5, 1.5), [6], "f16");
    const beta = gpu.upload(seededFloats(6, 23, -0.5, 0.5), [6], "f16");
    const ref = groupNormRef(await gpu.read(x), shape, await gpu.read(gamma), await gpu.read(beta), 3, 1e-5, true);
    // The default kernel, and the group in chunks of 16 values (70 = 4·16 + 6).
    for (const chunk of [undefined, 16]) {
      const y = await groupNormSilu(gpu, x, gamma, beta, { groups: 3, eps: 1e-5, chunk });
      expect(y.dtype).toBe("f16");
      expect(relativeMaxError(await gpu.read(y), ref), `chunk ${chunk}`).toBeLessThanOrEqual(NORM_F16_TOL);
      y.dispose();
    }
    for (const t of [x, gamma, beta]) t.dispose();
  });

  it("rejects channels not divisible by groups, and wrong gamma", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(new Float32Array(6 * 4), [1, 6, 2, 2]);
    const g6 = gpu.upload(new Float32Array(6), [6]);
    const g5 = gpu.upload(new Float32Array(5), [5]);
    await expect(groupNorm(gpu, x, g6, g6, { groups: 4, eps: 1e-5 })).rejects.toThrow("groupNorm: channels 6 are not divisible by groups 4");
    await expect(groupNorm(gpu, x, g5, g6, { groups: 3, eps: 1e-5 })).rejects.toThrow("gamma must have shape [6], got [5]");
    await expect(groupNorm(gpu, x, g6, g6, { groups: 3, eps: 1e-5, threads: 12 })).rejects.toThrow("threads must be a power of two up to 256, got 12");
    for (const t of [x, g6, g5]) t.dispose();
  });
});

describe("layerNorm vs float64", () => {
  // 19 rows: the one-thread-per-row kernel spans three 8-row workgroups, the last part empty.
  const shapes = [[3, 300], [1, 1], [2, 3, 77], [4, 1025], [19, 40]];
  for (const shape of shapes) {
    for (const affine of [true, false]) {
      it(`[${shape}]${affine ? " affine" : ""}`, async () => {
        const gpu = await testGpu();
        const cols = shape[shape.length - 1]!;
        const n = shape.reduce((a, b) => a * b, 1);
        const xs = seededFloats(n, 31 + cols, -3, 5);
        const gs = seededFloats(cols, 32, 0.5, 1.5);
        const bs = seededFloats(cols, 33, -0.5, 0.5);
        const x = gpu.upload(xs, shape);
        const gamma = affine ? gpu.upload(gs, [cols]) : null;
        const beta = affine ? gpu.upload(bs, [cols]) : null;
        const want = layerNormRef(xs, cols, affine ? gs : null, affine ? bs : null, 1e-5);
        // Both kernels on every adapter: the 256-thread tree (GPUs) and one thread per row (CPU adapters).
        for (const serialRows of [false, true]) {
          const y = await layerNorm(gpu, x, gamma, beta, 1e-5, { serialRows });
          expect(y.shape).toEqual(shape);
          expect(relativeMaxError(await gpu.read(y), want), `serialRows=${serialRows}`).toBeLessThanOrEqual(NORM_TOL);
          y.dispose();
        }
        for (const t of [x, gamma, beta]) t?.dispose();
      });
    }
  }

  it("f16 storage when the adapter has shader-f16", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      const h = gpu.upload(new Float32Array(4), [1, 4], "f16");
      await expect(layerNorm(gpu, h, null, null, 1e-5)).rejects.toThrow(/f16/);
      return;
    }
    const x = gpu.upload(seededFloats(5 * 320, 41, -2, 2), [5, 320], "f16");
    const gamma = gpu.upload(seededFloats(320, 42, 0.5, 1.5), [320], "f16");
    const beta = gpu.upload(seededFloats(320, 43, -0.5, 0.5), [320], "f16");
    const y = await layerNorm(gpu, x, gamma, beta, 1e-5);
    expect(y.dtype).toBe("f16");
    const ref = layerNormRef(await gpu.read(x), 320, await gpu.read(gamma), await gpu.read(beta), 1e-5);
    expect(relativeMaxError(await gpu.read(y), ref)).toBeLessThanOrEqual(NORM_F16_TOL);
    for (const t of [x, gamma, beta, y]) t.dispose();
  });

  it("rejects a wrong gamma and gamma without beta", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(new Float32Array(12), [3, 4]);
    const g3 = gpu.upload(new Float32Array(3), [3]);
    const g4 = gpu.upload(new Float32Array(4), [4]);
    await expect(layerNorm(gpu, x, g3, g3, 1e-5)).rejects.toThrow("layerNorm: gamma must have shape [4], got [3]");
    await expect(layerNorm(gpu, x, g4, null, 1e-5)).rejects.toThrow("gamma and beta come together");
    for (const t of [x, g3, g4]) t.dispose();
  });
});

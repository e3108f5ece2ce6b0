import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addTimeEmbedding, guidanceScaleEmbedding, guidanceScaleEmbeddingHost, timestepEmbedding, timestepEmbeddingHost } from "../../src/ops/embeddings.ts";
import { maxAbsError } from "../../src/verify/compare.ts";
import { OPS_CASE_RUNNERS } from "../../src/verify/ops-cases/index.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

function casesOf(dir: string, ops: string[]): OpsCase[] {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
  return m.cases.filter((c) => ops.includes(c.op));
}

describe("embedding golden cases", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    for (const c of casesOf(dir, ["get_timestep_embedding", "get_guidance_scale_embedding"])) {
      it(`${label}: ${c.file}`, async () => {
        const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
        const r = await OPS_CASE_RUNNERS[c.op]!(await testGpu(), st, c, undefined);
        expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      });
    }
  }
});

/** Pure float64 formulas (no float32 rounding anywhere). */
function timestepRef64(t: number[], dim: number, flip: boolean, shift: number): Float64Array {
  const half = Math.floor(dim / 2);
  const out = new Float64Array(t.length * dim);
  t.forEach((tb, b) => {
    for (let i = 0; i < half; i++) {
      const a = tb * Math.exp((-Math.log(10000) * i) / (half - shift));
      out[b * dim + i] = flip ? Math.cos(a) : Math.sin(a);
      out[b * dim + half + i] = flip ? Math.sin(a) : Math.cos(a);
    }
  });
  return out;
}

describe("timestep / guidance embeddings", () => {
  it("matches float64 for small timesteps (no argument rounding to speak of) in both orders and shifts", async () => {
    const gpu = await testGpu();
    const ts = [0, 1, 3.5, 17];
    for (const [flip, shift] of [[true, 0], [false, 1]] as const) {
      const y = timestepEmbedding(gpu, ts, 64, { flipSinToCos: flip, downscaleFreqShift: shift });
      expect(y.shape).toEqual([4, 64]);
      // float32 rounding of frequencies and arguments (|a| ≤ 17): ≤ 17·2^-24·few ≈ 5e-6.
      expect(maxAbsError(await gpu.read(y), timestepRef64(ts, 64, flip, shift))).toBeLessThanOrEqual(1e-5);
      y.dispose();
    }
  });

  it("odd dims get a zero last column (diffusers pads)", () => {
    const y = timestepEmbeddingHost([5, 999], 7, { flipSinToCos: true, downscaleFreqShift: 1 });
    expect(y.length).toBe(14);
    expect([y[6], y[13]]).toEqual([0, 0]);
    expect(y[0]).toBeCloseTo(Math.cos(5), 6);
  });

  it("SDXL add_time embeds each of the 6 ids and lays them out [B, 6·dim]", async () => {
    const gpu = await testGpu();
    const ids = [1024, 1024, 0, 0, 1024, 1024, 512, 768, 16, 32, 512, 768];
    const y = addTimeEmbedding(gpu, ids, 2, 256);
    expect(y.shape).toEqual([2, 1536]);
    const got = await gpu.read(y);
    const single = timestepEmbeddingHost([ids[7]!], 256, { flipSinToCos: true, downscaleFreqShift: 0 });
    expect(Array.from(got.subarray(1536 + 256, 1536 + 512))).toEqual(Array.from(single));
    y.dispose();
  });

  it("guidance embedding is [sin, cos] of 1000·w·freqs", async () => {
    const gpu = await testGpu();
    const y = guidanceScaleEmbedding(gpu, [0, 7.5], 32);
    expect(y.shape).toEqual([2, 32]);
    const got = await gpu.read(y);
    expect(Array.from(got.subarray(0, 32))).toEqual([...Array(16).fill(0), ...Array(16).fill(1)]);
    const c = Math.log(10000) / 15;
    // float32 c, frequencies and arguments (≤ 7500 rad): ≤ 7500·2^-23 ≈ 1e-3 argument shift at most.
    for (let i = 0; i < 16; i++) expect(Math.abs(got[32 + i]! - Math.sin(7500 * Math.exp(-i * c)))).toBeLessThanOrEqual(2e-3);
    expect(guidanceScaleEmbeddingHost([0.25], 8).length).toBe(8);
    y.dispose();
  });

  it("rejects bad dims and batch", async () => {
    const gpu = await testGpu();
    expect(() => timestepEmbedding(gpu, [1], 1, { flipSinToCos: true, downscaleFreqShift: 0 })).toThrow("embedding dim must be an integer ≥ 2, got 1");
    expect(() => addTimeEmbedding(gpu, [1, 2, 3, 4, 5], 2)).toThrow("time_ids has 5 values, not a multiple of batch 2");
  });
});

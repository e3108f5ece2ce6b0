/**
 * CLIP (text + vision towers, Pillow-exact preprocessing) vs the clip fixtures through the "clip" verifier
 * kind: the shipped subset (2 prompts, image_1 end to end from its uint8 pixels) and, when present, the full
 * oracle (bit-exact pixel_values of all three images, 2 prompts and 2 images through the towers).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resizeBicubicPillow, shortestEdgeSize } from "../../src/models/clip-vision/preprocess.ts";
import { CLIP_TOL, runClipCases } from "../../src/verify/kinds/clip.ts";
import { getVerifyKind } from "../../src/verify/registry.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import "../../src/verify/kinds/index.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

const worst = (r: { error?: number }[]) => Math.max(...r.map((x) => x.error ?? Infinity));

describe("clip fixtures (README: 1e-4 on hidden states / embeddings, 1e-5 normalized)", () => {
  it("fixtures: shipped subset, manifest-driven (qsched-gpu verify)", async () => {
    const report = await verifyFolder(join(FIXTURE_GOLDEN, "clip"));
    expect(report.kind).toBe("clip");
    const results = report.results;
    console.log(`clip subset: worst ${worst(results.filter((r) => r.name.includes("row"))).toExponential(2)} over ${results.length} checks`);
    for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
    expect(results.some((r) => r.name.startsWith("image row 0 image_embeds"))).toBe(true);
  });

  const full = fullGoldenDir();
  it.runIf(full !== null && existsSync(join(full ?? "", "clip")))("full oracle: pixel_values bit-exact (uint8 and float [0,1] inputs), rows 0/6 of text, images 0/2", async () => {
    const gpu = await testGpu();
    const results = await runClipCases(gpu, join(full!, "clip"), { textRows: [0, 6], imageRows: [0, 2] });
    console.log(`clip full: worst ${worst(results.filter((r) => r.name.includes("row"))).toExponential(2)} over ${results.length} checks`);
    for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
    expect(results.filter((r) => r.name.endsWith("pixel_values"))).toHaveLength(4); // 3 uint8 images + the float-[0,1] path
  });

  it("is registered as verifier kind \"clip\"", async () => {
    expect((await getVerifyKind("clip")).defaultTol).toBe(CLIP_TOL);
  });
});

describe("preprocessing", () => {
  it("shortest side → 224 with the long side floored, as transformers sizes it", () => {
    expect(shortestEdgeSize(64, 97, 224)).toEqual([224, 339]);
    expect(shortestEdgeSize(97, 64, 224)).toEqual([339, 224]);
    expect(shortestEdgeSize(224, 500, 224)).toEqual([224, 500]);
  });

  it("Pillow bicubic keeps a constant image constant and an identity size unchanged", () => {
    const data = new Uint8Array(5 * 7 * 3).fill(200);
    const up = resizeBicubicPillow({ data, height: 5, width: 7 }, 11, 3);
    expect(up.height).toBe(11);
    expect(up.width).toBe(3);
    expect([...new Set(up.data)]).toEqual([200]);
    const ramp = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) % 256);
    expect(resizeBicubicPillow({ data: ramp, height: 4, width: 4 }, 4, 4).data).toEqual(ramp);
  });
});

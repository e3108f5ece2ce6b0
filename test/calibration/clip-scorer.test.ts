/**
 * The GPU CLIP scorer: the toy's clip-scorer (no text tower) merged with the pipeline's text_encoder must embed
 * like the full toy CLIP (/work/shared/toy-shapes/clip, when present); scores of generated images are finite and
 * in range; a scorer without a text tower and no tower to borrow fails with a message.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imagePixelTensor, loadClipScorer } from "../../src/calibration/clip-scorer.ts";
import { CLIP_MEAN, CLIP_STD, clipPixelValues } from "../../src/models/clip-vision/preprocess.ts";
import { JaqEvaluator } from "../../src/calibration/image-scorer.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { testGpu } from "../helpers/gpu.ts";
import { discTestImage } from "../helpers/images.ts";
import { fullGoldenDir } from "../helpers/golden.ts";

const TOY = join(import.meta.dirname, "..", "..", "models", "toy-shapes");
const SCORER = join(TOY, "clip-scorer");
const FULL_CLIP = "/work/shared/toy-shapes/clip";
/** Same weights, same kernels: only op order could differ, so the bound is float32 noise on O(1) values. */
const EMBED_TOL = 1e-5;

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};


describe("loadClipScorer", () => {
  it.runIf(existsSync(join(FULL_CLIP, "model.safetensors")))("clip-scorer + pipeline text tower embeds like the full toy CLIP (1e-5)", async () => {
    const gpu = await testGpu();
    const merged = await loadClipScorer(gpu, SCORER, TOY);
    const full = await loadClipScorer(gpu, FULL_CLIP);
    try {
      const texts = ["a red circle on a blue background", "Good photo.", "Bad photo."];
      const [mt, ft] = [await merged.embedTexts(texts), await full.embedTexts(texts)];
      const images = [discTestImage(0), discTestImage(2)];
      const [mi, fi] = [await merged.embedImages(images), await full.embedImages(images)];
      const textErr = Math.max(...mt.map((e, i) => maxAbsDiff(e, ft[i]!)));
      const imageErr = Math.max(...mi.map((e, i) => maxAbsDiff(e, fi[i]!)));
      console.log(`merged vs full CLIP: text ${textErr.toExponential(2)}, image ${imageErr.toExponential(2)}`);
      expect(mt[0]!.length).toBe(64);
      expect(textErr).toBeLessThanOrEqual(EMBED_TOL);
      expect(imageErr).toBeLessThanOrEqual(EMBED_TOL);
      // Different images must embed differently (not a constant output).
      expect(maxAbsDiff(mi[0]!, mi[1]!)).toBeGreaterThan(1e-3);
    } finally {
      merged.dispose();
      full.dispose();
    }
  }, 180_000);

  it("reads the toy's processor settings (64, not 224) and preprocesses on the GPU like the CPU reference", async () => {
    const gpu = await testGpu();
    const scorer = await loadClipScorer(gpu, SCORER, TOY);
    try {
      const sizes = scorer.imageSize;
      expect(sizes).toEqual({ shortestEdge: 64, crop: 64, mean: [...CLIP_MEAN], std: [...CLIP_STD] });
      // 64×64 goes in unresized, 128×128 and 96×80 are resized and cropped; one batch of mixed sizes.
      const images = [discTestImage(0), discTestImage(0, 128), { ...discTestImage(1, 96), width: 80, height: 96, data: discTestImage(1, 96).data.slice(0, 96 * 80 * 4) }];
      const t = await imagePixelTensor(gpu, images, sizes);
      expect(t.shape).toEqual([3, 3, 64, 64]);
      const got = await gpu.read(t);
      t.dispose();
      const plane = 3 * 64 * 64;
      for (const [i, img] of images.entries()) {
        const rgb = Uint8Array.from({ length: img.width * img.height * 3 }, (_, j) => img.data[Math.floor(j / 3) * 4 + (j % 3)]!);
        const want = clipPixelValues({ data: rgb, height: img.height, width: img.width }, 64, 64);
        expect(maxAbsDiff(got.subarray(i * plane, (i + 1) * plane), want), `image ${i}`).toBe(0);
      }
      // Pixel (0, 0) of the 64×64 image is blue (40, 80, 220): (40/255 − mean_r) / std_r.
      expect(got[0]).toBeCloseTo((40 / 255 - 0.48145466) / 0.26862954, 5);
    } finally {
      scorer.dispose();
    }
  });

  it("scores of generated toy images are finite and in range", async () => {
    const gpu = await testGpu();
    const scorer = await loadClipScorer(gpu, SCORER, TOY);
    const pipe = await QSchedPipeline.fromPretrained(TOY, { quant: "none" });
    try {
      const prompts = ["a large yellow circle on a black background", "two red squares"];
      const images = [];
      for (const [i, prompt] of prompts.entries()) {
        const r = await pipe.generate({ prompt, seed: 900 + i, steps: 4, guidanceScale: 2, keepRgba: true });
        expect(r.rgba?.shape).toEqual([1, r.images[0]!.height, r.images[0]!.width]);
        images.push({ ...r.images[0]!, rgba: r.rgba });
      }
      // The GPU-resident RGBA8 and the read-back bytes embed identically.
      const onGpu = await scorer.embedImages(images);
      const fromCpu = await scorer.embedImages(images.map(({ rgba: _, ...img }) => img));
      expect(Math.max(...onGpu.map((e, i) => maxAbsDiff(e, fromCpu[i]!)))).toBe(0);
      const s = await new JaqEvaluator(scorer, prompts).score(images);
      for (const img of images) img.rgba!.dispose();
      console.log(`generated: CLIPScore ${s.clipScore.toFixed(2)}, CLIP-IQA ${s.clipIqa.map((x) => x.toFixed(3)).join("/")}, JAQ ${s.jaq.toFixed(3)}`);
      for (const p of s.pairScores) expect(Math.abs(p)).toBeLessThanOrEqual(100);
      expect(s.clipScore).toBeGreaterThan(0);
      for (const q of s.clipIqa) expect(q >= 0 && q <= 1).toBe(true);
      expect(Number.isFinite(s.jaq)).toBe(true);
    } finally {
      pipe.dispose();
      scorer.dispose();
    }
  }, 180_000);

  it("a scorer folder without a text tower and no tower to borrow fails naming the fix", async () => {
    const gpu = await testGpu();
    await expect(loadClipScorer(gpu, SCORER)).rejects.toThrow(/no text tower.*pipeline folder/);
  });
});

describe("texts longer than 77 tokens", () => {
  // The full oracle's tiny CLIP (the shipped subset's has no text tower); CI always has it.
  const full = fullGoldenDir();
  console.log(`[golden] scorer long prompts: full oracle ${full ? "RUNS" : "NOT available (set QSCHED_GOLDEN)"}`);
  it.runIf(full !== null)("embed as the scores oracle's torchmetrics does: cut to 77 ids, EOS lost, pooled at BOS (before: CLIPScore 5.19, oracle 15.96)", async () => {
    const { cpSync, mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const golden = full!;
    const { parseSafetensorsBytes } = await import("../../src/weights/safetensors/memory.ts");
    // The golden tiny CLIP with the CLIP tokenizer beside it, as a scorer folder.
    const dir = mkdtempSync(join(tmpdir(), "qsched-clip-long-"));
    for (const f of ["config.json", "model.safetensors"]) cpSync(join(golden, "clip", f), join(dir, f));
    for (const f of ["vocab.json", "merges.txt"]) cpSync(join(golden, "tokenizer", f), join(dir, f));
    const gpu = await testGpu();
    const scorer = await loadClipScorer(gpu, dir);
    try {
      const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(golden, "scores", "scores.safetensors"))), "scores");
      const prompts = JSON.parse(st.metadata.long_prompts!) as string[];
      const embeds = await scorer.embedTexts(prompts);
      const want = st.f32("long_text_embeds_normalized");
      const d = want.length / prompts.length;
      embeds.forEach((e, i) => {
        const n = Math.hypot(...e);
        expect(maxAbsDiff(Array.from(e, (v) => v / n), want.subarray(i * d, (i + 1) * d)), `prompt ${i}`).toBeLessThan(1e-5);
      });
      // Every prompt past 77 tokens pools at BOS, so two different ones embed alike (the oracle's behaviour).
      const [a, b] = await scorer.embedTexts([prompts[1]! + " And a dog.", "Something else first. " + prompts[1]!]);
      expect(maxAbsDiff(a!, b!)).toBe(0);
    } finally {
      scorer.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scorer inputs", () => {
  it("refuses image bytes that are not RGBA8 of the stated size, and preprocessing settings it does not implement", async () => {
    const { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const gpu = await testGpu();
    const scorer = await loadClipScorer(gpu, SCORER, TOY);
    try {
      const rgb = { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 3) };
      await expect(scorer.embedImages([rgb])).rejects.toThrow(/a 8×8 image needs 256 RGBA bytes, found 192/);
      await expect(scorer.embedImages([{ width: 2.5, height: 8, data: new Uint8ClampedArray(80) }])).rejects.toThrow(/image size must be positive integers, found 2.5×8/);
    } finally {
      scorer.dispose();
    }
    const dir = mkdtempSync(join(tmpdir(), "qsched-clip-pp-"));
    try {
      cpSync(SCORER, dir, { recursive: true });
      const path = join(dir, "preprocessor_config.json");
      const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify({ ...config, do_center_crop: false }));
      await expect(loadClipScorer(gpu, dir, TOY)).rejects.toThrow(/do_center_crop false is not supported/);
      writeFileSync(path, JSON.stringify({ ...config, resample: 2 }));
      await expect(loadClipScorer(gpu, dir, TOY)).rejects.toThrow(/resample 2 is not supported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

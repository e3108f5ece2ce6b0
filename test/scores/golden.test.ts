import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FIXTURE_GOLDEN, goldenFolders } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { clipScore, scoreConfig } from "../../src/calibration/scores.ts";
import { CLIPTokenizer, torchmetricsTextBatch } from "../../src/tokenizer/index.ts";

/** Checks the verifier must have run on the public-set layout; a missing one means a tensor was silently ignored. */
const EXPECTED_CHECKS = [
  "clip_score_pairs", "clip_score", "clipiqa_logits", "clipiqa", "clipiqa_mean", "jaq", "ranking", "best_config",
  "metadata jaq_float64", "manifest summary jaq", "manifest summary order", "released_bs2_clip_score", "released_bs2_jaq",
  "released_bs2_pairs_used", "clamp_case_pair_score", "clamp_case_clip_score", "long_pair_scores", "long_clip_score",
  "float01_clip_score_pairs", "float01_clipiqa", "text_input_ids", "text_attention_mask", "anchor_input_ids",
  "long_input_ids", "long_attention_mask", "long_pool_index",
];

describe.each(goldenFolders("scores"))("scores golden ($label)", ({ dir }) => {
  test("verifier: every check passes, and every tensor kind was checked", async () => {
    const report = await verifyFolder(dir);
    expect(report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    const names = report.results.map((r) => r.name.replace(/^[^:]*: /, ""));
    for (const check of EXPECTED_CHECKS) expect(names, check).toContain(check);
  });
});

describe("public API on the shipped scores file", () => {
  const file = readSafetensorsFileSync(join(FIXTURE_GOLDEN, "scores/scores.safetensors"));
  const dim = file.shape("text_embeds_normalized")[1] as number;
  const rowsOf = (t: Float32Array) => Array.from({ length: t.length / dim }, (_, i) => t.subarray(i * dim, (i + 1) * dim));

  test("float64 CLIPScore / CLIP-IQA / JAQ match the float64 metadata to 1e-6 relative", () => {
    const images = rowsOf(file.f32("image_embeds_normalized"));
    const texts = rowsOf(file.f32("text_embeds_normalized"));
    const [good, bad] = rowsOf(file.f32("anchors_normalized"));
    const want = JSON.parse(file.metadata.jaq_float64 as string) as number[];
    const wantClip = JSON.parse(file.metadata.clip_score_float64 as string) as number[];
    want.forEach((w, c) => {
      const s = scoreConfig(images.slice(c * texts.length, (c + 1) * texts.length), texts, good!, bad!, 2);
      // Recomputed from F32-stored embeddings: measured error ~5e-8 relative; 1e-6 is the stated bound.
      expect(Math.abs(s.jaq - w) / Math.max(Math.abs(w), 1)).toBeLessThan(1e-6);
      expect(Math.abs(s.clipScore - (wantClip[c] as number)) / Math.max(Math.abs(wantClip[c] as number), 1)).toBeLessThan(1e-6);
    });
    // The clamp case: a single negative pair gives CLIPScore 0.
    expect(clipScore([images[2 * texts.length + 1]!], [texts[0]!])).toBe(0);
  });

  test("torchmetrics text batch: a >77-token prompt is cut, loses its EOS and pools at BOS", () => {
    const tokDir = join(FIXTURE_GOLDEN, "tokenizer");
    const tok = CLIPTokenizer.fromFiles(readFileSync(join(tokDir, "vocab.json"), "utf8"), readFileSync(join(tokDir, "merges.txt"), "utf8"));
    const batch = torchmetricsTextBatch(tok, JSON.parse(file.metadata.long_prompts as string) as string[]);
    expect([batch.batch, batch.length]).toEqual(file.shape("long_input_ids"));
    expect(Array.from(batch.inputIds)).toEqual(Array.from(file.typed("long_input_ids") as Int32Array));
    expect(Array.from(batch.attentionMask)).toEqual(Array.from(file.typed("long_attention_mask") as Int32Array));
    expect(Array.from(batch.poolIndex)).toEqual([13, 0]);
    expect(batch.truncated).toEqual([false, true]);
    const short = torchmetricsTextBatch(tok, JSON.parse(file.metadata.prompts as string) as string[]);
    expect(Array.from(short.inputIds)).toEqual(Array.from(file.typed("text_input_ids") as Int32Array));
    expect(() => torchmetricsTextBatch(tok, [])).toThrow(/at least one prompt/);
  });
});

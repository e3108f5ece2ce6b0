/**
 * Test doubles for calibration: a generator whose "images" remember the (m, s, prompt) they were made for, and a
 * scorer that turns those into embeddings whose JAQ follows a known function of (m, s).
 */
import type { CandidateGenerator } from "../../src/calibration/calibrate.ts";
import type { ImageScorer } from "../../src/calibration/image-scorer.ts";
import type { GeneratedImage } from "../../src/pipeline/types.ts";

interface ImageMeta {
  m: number;
  s: number;
  prompt: string;
  seed: number;
}

const meta = new WeakMap<GeneratedImage, ImageMeta>();

/** Cosine between image i and prompt i as a function of (m, s); ≤ 0.9 keeps CLIP-IQA saturated at ≈ 1. */
export type CosineLandscape = (m: number, s: number) => number;

/** A bowl with its top (cos 0.8 → CLIPScore 80) at (0.95, 0.90). */
export const bowl: CosineLandscape = (m, s) => 0.8 - 2 * ((m - 0.95) ** 2 + (s - 0.9) ** 2);

export function fakeGenerator(calls: { count: number } = { count: 0 }): CandidateGenerator {
  return async (m, s, prompt, seed) => {
    calls.count++;
    const img: GeneratedImage = { width: 1, height: 1, data: new Uint8ClampedArray([0, 0, 0, 255]) };
    meta.set(img, { m, s, prompt, seed });
    return img;
  };
}

/**
 * Embedding space: one axis per distinct text, plus the two quality anchors. Image = c·e_prompt + √(1−c²)·e_good,
 * so 100·cos(image, prompt) = 100·c and CLIP-IQA = sigmoid(100·√(1−c²)) ≈ 1: JAQ = ln(100c) + k. Where
 * `failAt(m, s)` holds, the image embedding is all zeros, so cosines are 0/0 = NaN (a failed candidate).
 */
export function fakeScorer(landscape: CosineLandscape, failAt: (m: number, s: number) => boolean = () => false): ImageScorer & { textCalls: number } {
  const axes = new Map<string, number>();
  const dims = 64;
  const axisOf = (t: string) => {
    if (!axes.has(t)) axes.set(t, axes.size);
    const a = axes.get(t)!;
    if (a >= dims) throw new Error(`fake scorer: more than ${dims} distinct texts`);
    return a;
  };
  const good = axisOf("Good photo.");
  axisOf("Bad photo.");
  const scorer = {
    textCalls: 0,
    async embedTexts(texts: readonly string[]) {
      scorer.textCalls++;
      return texts.map((t) => {
        const v = new Float32Array(dims);
        v[axisOf(t)] = 1;
        return v;
      });
    },
    async embedImages(images: readonly GeneratedImage[]) {
      return images.map((img) => {
        const info = meta.get(img);
        if (!info) throw new Error("fake scorer: image was not made by fakeGenerator");
        const v = new Float32Array(dims);
        if (failAt(info.m, info.s)) return v;
        const c = landscape(info.m, info.s);
        v[axisOf(info.prompt)] = c;
        v[good] = Math.sqrt(Math.max(0, 1 - c * c));
        return v;
      });
    },
  };
  return scorer;
}

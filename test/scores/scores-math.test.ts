import { describe, expect, test } from "vitest";
import {
  ClipScoreAccumulator,
  clipIqa,
  clipScore,
  clipScorePairs,
  cosine,
  jaq,
  rankDescending,
  releasedScriptImageIndices,
  releasedScriptScores,
} from "../../src/calibration/scores.ts";

// Hand-made vectors whose cosines are known in closed form; float64 math, so 1e-12 absolute covers rounding.
const TOL = 1e-12;

describe("CLIPScore", () => {
  test("100 * cosine per pair, embeddings need not be normalized", () => {
    expect(cosine([3, 0], [0.5, 0.5])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(clipScorePairs([[2, 0], [0, 1]], [[1, 1], [0, -4]])).toEqual([100 * Math.SQRT1_2, -100].map((v) => expect.closeTo(v, 10)));
  });

  test("the clamp is on the mean, not per pair", () => {
    // pairs +60 and -20: per-pair clamping would give 30, the torchmetrics code gives max(20, 0) = 20.
    const images = [[1, 0], [1, 0]];
    const texts = [[0.6, 0.8], [-0.2, Math.sqrt(1 - 0.04)]];
    expect(Math.abs(clipScore(images, texts) - 20)).toBeLessThan(TOL);
    expect(clipScore([[1, 0]], [[-1, 0]])).toBe(0);
  });

  test("accumulating over batches equals one call over everything", () => {
    const acc = new ClipScoreAccumulator();
    acc.update([[1, 0]], [[0.6, 0.8]]);
    acc.update([[0, 1], [1, 1]], [[0, 1], [1, 0]]);
    expect(Math.abs(acc.compute() - clipScore([[1, 0], [0, 1], [1, 1]], [[0.6, 0.8], [0, 1], [1, 0]]))).toBeLessThan(TOL);
    expect(() => new ClipScoreAccumulator().compute()).toThrow(/no pairs/);
    expect(() => clipScorePairs([[1]], [])).toThrow(/1 image embeddings but 0 text/);
  });
});

describe("CLIP-IQA and JAQ", () => {
  test("softmax of 100*cos over (good, bad), index 0", () => {
    const good = [1, 0];
    const bad = [0, 1];
    const [equal, nearGood] = clipIqa([[1, 1], [1, 0.99]], good, bad);
    expect(Math.abs((equal as number) - 0.5)).toBeLessThan(TOL);
    const d = 100 * (1 / Math.hypot(1, 0.99) - 0.99 / Math.hypot(1, 0.99));
    expect(Math.abs((nearGood as number) - Math.exp(d) / (Math.exp(d) + 1))).toBeLessThan(TOL);
    // Swapping the anchors gives the other softmax entry; the two sum to 1 even at the extreme logits (±100).
    for (const img of [[0.3, 0.7], [1, 0], [-1, 0.2]]) {
      const sum = (clipIqa([img], good, bad)[0] as number) + (clipIqa([img], bad, good)[0] as number);
      expect(Math.abs(sum - 1)).toBeLessThan(TOL);
    }
    expect(clipIqa([[-1, 0]], [1, 0], [-1, 0])[0]).toBeCloseTo(1 / (1 + Math.exp(200)), 100);
  });

  test("jaq = ln(clipScore) + k * mean CLIP-IQA; a zero CLIPScore ranks last", () => {
    expect(jaq(Math.E, 0.25)).toBeCloseTo(1.5, 12);
    expect(jaq(Math.E, 0.25, 4)).toBeCloseTo(2, 12);
    expect(jaq(0, 1)).toBe(-Infinity);
    expect(rankDescending([1, 3, -Infinity, 2])).toEqual([1, 3, 0, 2]);
    expect(rankDescending([1, 1, 0])).toEqual([0, 1, 2]);
    expect(rankDescending([1, NaN, 3, 2, NaN, 5])).toEqual([5, 2, 3, 0, 1, 4]); // NaN last, the rest in order
  });
});

describe("released script batching", () => {
  test("slices start at the batch index: n=4, bs=2 scores 0,1,1,2; n=25, bs=5 scores images 0-8 only", () => {
    expect(releasedScriptImageIndices(4, 2)).toEqual([0, 1, 1, 2]);
    const idx = releasedScriptImageIndices(25, 5);
    expect(idx.length).toBe(25);
    expect(Math.max(...idx)).toBe(8);
    // ceil(5 / 3) = 2 batches, the second slice stops at the end: 0,1,2 then 1,2,3.
    expect(releasedScriptImageIndices(5, 3)).toEqual([0, 1, 2, 1, 2, 3]);
    expect(() => releasedScriptImageIndices(4, 0)).toThrow(/positive integer/);
  });

  test("CLIPScore and CLIP-IQA means use the same duplicated images", () => {
    const r = releasedScriptScores([10, 20, 30, 40], [0.1, 0.2, 0.3, 0.4], 2);
    expect(r.imageIndices).toEqual([0, 1, 1, 2]);
    expect(r.clipScore).toBeCloseTo(20, 12);
    expect(r.meanClipIqa).toBeCloseTo(0.2, 12);
    expect(r.jaq).toBeCloseTo(Math.log(20) + 0.4, 12);
  });
});

/**
 * CPU scoring of calibration images from CLIP embeddings (the embeddings themselves come from the GPU CLIP models):
 * CLIPScore and CLIP-IQA as torchmetrics 1.6.1 computes them, and the JAQ ranking value of the Q-Sched reference
 * script (`log(clip_score) + k * mean(clip_iqa)`). All math is float64; embeddings need not be normalized.
 */

/** One embedding vector (image_embeds / text_embeds: projected, pooled features). */
export type Embedding = ArrayLike<number>;

/** torchmetrics multiplies cosines by a fixed 100 in both metrics (not the model's logit_scale). */
export const COSINE_SCALE = 100;
/** Q-Sched's `--k` default: weight of the mean CLIP-IQA in JAQ. */
export const DEFAULT_JAQ_K = 2;

/** Cosine similarity in float64. */
export function cosine(a: Embedding, b: Embedding): number {
  if (a.length !== b.length) throw new Error(`cosine: embeddings have ${a.length} and ${b.length} dimensions, expected equal`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb));
}

/** Per-pair `100 * cos(image_i, text_i)`, unclamped. */
export function clipScorePairs(imageEmbeds: readonly Embedding[], textEmbeds: readonly Embedding[]): number[] {
  if (imageEmbeds.length !== textEmbeds.length) {
    throw new Error(`clipScore: ${imageEmbeds.length} image embeddings but ${textEmbeds.length} text embeddings, expected one per pair`);
  }
  return imageEmbeds.map((img, i) => COSINE_SCALE * cosine(img, textEmbeds[i] as Embedding));
}

/**
 * torchmetrics `CLIPScore` as a running metric: `update` adds pair scores, `compute` = max(sum / count, 0).
 * The clamp applies to the mean, not per pair (the torchmetrics docstring shows it per pair; its code does not).
 */
export class ClipScoreAccumulator {
  private sum = 0;
  private count = 0;

  update(imageEmbeds: readonly Embedding[], textEmbeds: readonly Embedding[]): void {
    this.addPairScores(clipScorePairs(imageEmbeds, textEmbeds));
  }

  addPairScores(pairScores: readonly number[]): void {
    for (const s of pairScores) this.sum += s;
    this.count += pairScores.length;
  }

  compute(): number {
    if (this.count === 0) throw new Error("clipScore: no pairs were added, expected at least one");
    return Math.max(this.sum / this.count, 0);
  }
}

/** CLIPScore over all pairs: mean of `100 * cos`, then clamped at 0. */
export function clipScore(imageEmbeds: readonly Embedding[], textEmbeds: readonly Embedding[]): number {
  const acc = new ClipScoreAccumulator();
  acc.update(imageEmbeds, textEmbeds);
  return acc.compute();
}

/** CLIP-IQA logits of one image: `[100 cos(img, good), 100 cos(img, bad)]`. */
export function clipIqaLogits(imageEmbed: Embedding, goodAnchor: Embedding, badAnchor: Embedding): [number, number] {
  return [COSINE_SCALE * cosine(imageEmbed, goodAnchor), COSINE_SCALE * cosine(imageEmbed, badAnchor)];
}

/**
 * CLIP-IQA per image: softmax over the (good, bad) logits, probability of "Good photo.".
 * Written as 1 / (1 + exp(bad - good)), the same value without overflow for large logits.
 */
export function clipIqa(imageEmbeds: readonly Embedding[], goodAnchor: Embedding, badAnchor: Embedding): number[] {
  return imageEmbeds.map((img) => {
    const [good, bad] = clipIqaLogits(img, goodAnchor, badAnchor);
    return 1 / (1 + Math.exp(bad - good));
  });
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error("mean: expected at least one value, found none");
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * JAQ ranking value of one config: `ln(clipScore) + k * meanClipIqa` (CLIPScore averaged first, then logged).
 * A CLIPScore clamped to 0 gives -Infinity, as torch.log does.
 */
export function jaq(clipScoreValue: number, meanClipIqa: number, k = DEFAULT_JAQ_K): number {
  return Math.log(clipScoreValue) + k * meanClipIqa;
}

/**
 * CLIPScore, mean CLIP-IQA and JAQ of the images `indices` from their per-image values, as scoreConfig computes them
 * for a whole set: the mean pair score clamped at 0 (NaN stays NaN), then ln, plus k·mean CLIP-IQA. Used for prompt
 * prefixes (calibration racing) and resamples (benchmarks).
 */
export function setScoresOf(pairScores: readonly number[], clipIqaValues: readonly number[], indices: Iterable<number>, k = DEFAULT_JAQ_K): { clipScore: number; meanClipIqa: number; jaq: number } {
  let p = 0;
  let q = 0;
  let n = 0;
  for (const i of indices) {
    p += pairScores[i]!;
    q += clipIqaValues[i]!;
    n++;
  }
  const clipScore = Math.max(p / n, 0);
  const meanClipIqa = q / n;
  return { clipScore, meanClipIqa, jaq: jaq(clipScore, meanClipIqa, k) };
}

/** Config indices ordered best first (descending value); ties keep the lower index first. */
export function rankDescending(values: readonly number[]): number[] {
  // NaN last (a comparator that returns NaN would leave the order of the finite values undefined).
  const nan = (i: number) => (Number.isNaN(values[i]) ? 1 : 0);
  return values.map((_, i) => i).sort((a, b) => nan(a) - nan(b) || (nan(a) ? 0 : (values[b] as number) - (values[a] as number)) || a - b);
}

/** Scores of one calibration config. */
export interface ConfigScores {
  pairScores: number[];
  clipScore: number;
  clipIqa: number[];
  meanClipIqa: number;
  jaq: number;
}

/** All scores of one config whose image i was generated from prompt i. */
export function scoreConfig(
  imageEmbeds: readonly Embedding[],
  textEmbeds: readonly Embedding[],
  goodAnchor: Embedding,
  badAnchor: Embedding,
  k = DEFAULT_JAQ_K,
): ConfigScores {
  const pairScores = clipScorePairs(imageEmbeds, textEmbeds);
  const acc = new ClipScoreAccumulator();
  acc.addPairScores(pairScores);
  const cs = acc.compute();
  const iqa = clipIqa(imageEmbeds, goodAnchor, badAnchor);
  const meanIqa = mean(iqa);
  return { pairScores, clipScore: cs, clipIqa: iqa, meanClipIqa: meanIqa, jaq: jaq(cs, meanIqa, k) };
}

/**
 * Image indices the released Q-Sched script scores: `ceil(n / batchSize)` batches, batch b slicing
 * `[b, b + batchSize)` — the start is the batch index, not b * batchSize, so slices overlap and later images are
 * never scored (n = 4, batchSize 2 gives 0, 1, 1, 2). Kept to reproduce published numbers, not as the intended math.
 */
export function releasedScriptImageIndices(n: number, batchSize: number): number[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`releasedScriptImageIndices: batchSize must be a positive integer, found ${batchSize}`);
  const out: number[] = [];
  const batches = Math.ceil(n / batchSize);
  for (let b = 0; b < batches; b++) for (let i = b; i < Math.min(b + batchSize, n); i++) out.push(i);
  return out;
}

/** CLIPScore and JAQ the way the released script batches them, from per-image pair scores and CLIP-IQA values. */
export function releasedScriptScores(
  pairScores: readonly number[],
  clipIqaValues: readonly number[],
  batchSize: number,
  k = DEFAULT_JAQ_K,
): { clipScore: number; meanClipIqa: number; jaq: number; imageIndices: number[] } {
  if (pairScores.length !== clipIqaValues.length) {
    throw new Error(`releasedScriptScores: ${pairScores.length} pair scores but ${clipIqaValues.length} CLIP-IQA values, expected one each per image`);
  }
  const imageIndices = releasedScriptImageIndices(pairScores.length, batchSize);
  const acc = new ClipScoreAccumulator();
  acc.addPairScores(imageIndices.map((i) => pairScores[i] as number));
  const cs = acc.compute();
  const meanIqa = mean(imageIndices.map((i) => clipIqaValues[i] as number));
  return { clipScore: cs, meanClipIqa: meanIqa, jaq: jaq(cs, meanIqa, k), imageIndices };
}

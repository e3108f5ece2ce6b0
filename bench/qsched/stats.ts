/**
 * Statistics for the Q-Sched benchmark: seeded bootstrap confidence intervals over samples (plain and paired) and
 * PSNR between two RGBA8 images. JAQ of a set is not a per-sample mean (ln of the mean CLIPScore plus k·mean
 * CLIP-IQA), so every resample recomputes it from its own samples.
 */
import { DEFAULT_JAQ_K, setScoresOf } from "../../src/calibration/scores.ts";
import type { GeneratedImage } from "../../src/pipeline/types.ts";

/** Per-sample scores of one configuration: `pair[i]` = 100·cos(image_i, prompt_i), `iqa[i]` = CLIP-IQA. */
export interface SampleScores {
  pair: number[];
  iqa: number[];
}

export interface SetScores {
  jaq: number;
  clipScore: number;
  clipIqa: number;
}

/** Bootstrap resamples: enough for stable 2.5/97.5 % percentiles at this sample size. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** Set scores over the samples `idx` (torchmetrics: CLIPScore = max(mean, 0)). */
export function setScores(s: SampleScores, idx: readonly number[], k = DEFAULT_JAQ_K): SetScores {
  const r = setScoresOf(s.pair, s.iqa, idx, k);
  return { jaq: r.jaq, clipScore: r.clipScore, clipIqa: r.meanClipIqa };
}

/** xorshift32 in [0, 1): seeded so a rerun gives the same intervals (also the calibration bench's prompt resampling). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Index lists of `BOOTSTRAP_RESAMPLES` resamples of n samples with replacement; shared by all configs so pairs line up. */
export function bootstrapIndices(n: number, seed: number, resamples = BOOTSTRAP_RESAMPLES): number[][] {
  const r = xorshift(seed);
  return Array.from({ length: resamples }, () => Array.from({ length: n }, () => Math.floor(r() * n)));
}

export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

function percentile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const a = Math.floor(pos);
  const b = Math.min(a + 1, sorted.length - 1);
  return sorted[a]! + (pos - a) * (sorted[b]! - sorted[a]!);
}

/** Value on all samples with its 95 % percentile interval over the resamples. */
export function interval(stat: (idx: readonly number[]) => number, n: number, resamples: readonly (readonly number[])[]): Interval {
  const all = Array.from({ length: n }, (_, i) => i);
  const values = resamples.map(stat).sort((a, b) => a - b);
  return { value: stat(all), lo: percentile(values, 0.025), hi: percentile(values, 0.975) };
}

/** PSNR in dB over the RGB channels of two images of one size (Infinity when identical). */
export function psnr(a: GeneratedImage, b: GeneratedImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`psnr: images are ${a.width}×${a.height} and ${b.width}×${b.height}`);
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a.data[i + c]! - b.data[i + c]!;
      se += d * d;
      n++;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}

/** Mean of finite values (identical images give Infinity and are left out; the count says how many). */
export function finiteMean(values: readonly number[]): { mean: number; count: number } {
  const f = values.filter(Number.isFinite);
  return { mean: f.reduce((s, x) => s + x, 0) / Math.max(f.length, 1), count: f.length };
}

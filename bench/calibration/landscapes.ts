/**
 * Objectives for the calibration-search benchmark: the recorded toy-shapes JAQ tables (9×9, looked up at the
 * nearest grid point) and synthetic landscapes with known optima, optionally with seeded noise. Every landscape has
 * a prompt count P: `observe(m, s, n)` is the JAQ over the first n prompts, what a calibration run sees after
 * generating n images for that candidate.
 */
import { racingOrder } from "../../src/calibration/prompts.ts";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setScores, xorshift } from "../qsched/stats.ts";

export interface BenchLandscape {
  name: string;
  /** Prompts per full evaluation; 1 when the table only holds whole-set scores (the model card's). */
  prompts: number;
  /** Noisy (or recorded) value over the first n prompts: what the searches see. */
  observe(m: number, s: number, n: number): number;
  /** Value used to judge a chosen point: the noise-free function, or for recorded tables the table (all prompts). */
  truth(m: number, s: number): number;
  /** Lattice spacing the fast search uses on this landscape (0.05 = the recorded grid, so lookups are exact). */
  resolution: number;
  noiseSigma: number;
  kind: "recorded" | "synthetic";
}

/**
 * A recorded table `jaq[i_m][j_s]` over `axes.m` × `axes.s` (see /work/shared/toy-shapes/README.md); ours
 * (record-landscape.ts) also keep every image's CLIPScore pair value and CLIP-IQA.
 */
export interface RecordedLandscapeFile {
  axes: { m: number[]; s: number[] };
  jaq: number[][];
  per_image?: { clip_score_pair: number[][][]; clip_iqa: number[][][] };
}

function nearestIndex(axis: readonly number[], x: number): number {
  let best = 0;
  for (let i = 1; i < axis.length; i++) if (Math.abs(axis[i]! - x) < Math.abs(axis[best]! - x)) best = i;
  return best;
}

/**
 * Nearest-grid-point lookup: off-grid points take the value of the closest recorded point (no interpolation). With
 * per-image scores, the JAQ over the first n prompts is recomputed from them exactly as calibrate() does
 * (ln of the mean CLIPScore, clamped at 0, + 2·mean CLIP-IQA); without, a point is one indivisible evaluation.
 * `promptOrder` is the prompt list handed to calibrate (bootstrap replicates, see run.ts; default as recorded); the
 * search then sees it in racingOrder, as calibrate() takes it.
 */
export function recordedLandscape(name: string, file: RecordedLandscapeFile, promptOrder?: readonly number[]): BenchLandscape {
  const at = (m: number, s: number): [number, number] => [nearestIndex(file.axes.m, m), nearestIndex(file.axes.s, s)];
  const per = file.per_image;
  if (!per) {
    const f = (m: number, s: number) => file.jaq[at(m, s)[0]]![at(m, s)[1]]!;
    return { name, prompts: 1, observe: f, truth: f, resolution: 0.05, noiseSigma: 0, kind: "recorded" };
  }
  const list = promptOrder ?? per.clip_score_pair[0]![0]!.map((_, i) => i);
  const order = racingOrder(list.length).map((i) => list[i]!);
  const observe = (m: number, s: number, n: number) => {
    const [i, j] = at(m, s);
    return setScores({ pair: per.clip_score_pair[i]![j]!, iqa: per.clip_iqa[i]![j]! }, order.slice(0, n)).jaq;
  };
  return { name, prompts: order.length, observe, truth: (m, s) => observe(m, s, order.length), resolution: 0.05, noiseSigma: 0, kind: "recorded" };
}

export function loadRecordedLandscapes(folder: string): BenchLandscape[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => recordedLandscape(f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(folder, f), "utf8")) as RecordedLandscapeFile));
}

/**
 * Deterministic N(0, 1) per (point, prompt, seed): the same candidate and prompt always get the same noise, like a
 * fixed seed per prompt.
 */
export function pointNoise(m: number, s: number, seed: number, prompt = 0): number {
  let h = 2166136261 ^ seed;
  for (const ch of `${m.toFixed(6)},${s.toFixed(6)},${prompt}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const next = () => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x6d2b79f5;
    h ^= h >>> 13;
    return ((h >>> 0) + 0.5) / 4294967296;
  };
  return Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
}

const gauss = (m: number, s: number, m0: number, s0: number, w: number) => Math.exp(-((m - m0) ** 2 + (s - s0) ** 2) / (2 * w * w));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Noise-free shapes, scaled like the recorded JAQ tables (peak ≈ 5.7, worst corners 2–4.5). */
export const SYNTHETIC_SHAPES: Record<string, (m: number, s: number) => number> = {
  // Smooth bowl, optimum inside at (0.93, 0.88).
  quadratic: (m, s) => 5.7 - 8 * ((m - 0.93) ** 2 + (s - 0.88) ** 2),
  // One Gaussian bump (width 0.1) on a flat floor, optimum at (1.07, 0.95).
  bump: (m, s) => 4.8 + 0.9 * gauss(m, s, 1.07, 0.95, 0.1),
  // Two bumps: the higher one at (0.88, 1.10), a wider lower one at (1.10, 0.90) that can trap a local search.
  "two-bumps": (m, s) => 4.8 + 0.9 * gauss(m, s, 0.88, 1.1, 0.08) + 0.7 * gauss(m, s, 1.1, 0.9, 0.12),
  // A narrow diagonal ridge s ≈ m − 0.05 rising gently toward m = 1.1.
  ridge: (m, s) => 5.7 - 30 * (s - m + 0.05) ** 2 - 3 * (m - 1.1) ** 2,
  // Monotone slope, optimum at the (0.8, 0.8) corner.
  corner: (m, s) => 5.7 - 1.5 * (m - 0.8) - 1.5 * (s - 0.8) - 2 * (m - 0.8) * (s - 0.8),
  // Like the recorded tables: a gentle dome near (1.02, 0.95) and a cliff where s exceeds m by more than 0.1.
  cliff: (m, s) => 5.6 - 2 * (m - 1.02) ** 2 - 2 * (s - 0.95) ** 2 - 3.5 * sigmoid((s - m - 0.1) / 0.03),
};

/** Prompts of the synthetic landscapes: as many as our recorded tables have. */
export const SYNTHETIC_PROMPTS = 8;

/**
 * Prompt model of the synthetic landscapes: prompt p's image scores f(m, s) + d_p + σ·√P·z(m, s, p), so the mean
 * over all P prompts has noise σ (the per-point σ) and a subset of n has σ·√(P/n). The prompt offsets d_p (some
 * prompts are easier, spread 0.5 JAQ) are the same for every candidate, as with fixed seeds: they cancel when
 * candidates are compared on the same prompts, and mislead a search that compares different subsets.
 */
function promptedObserve(f: (m: number, s: number) => number, sigma: number, seed: number, prompts: number) {
  const offsets = Array.from({ length: prompts }, (_, p) => 0.5 * pointNoise(0, 0, seed + 7777, p));
  return (m: number, s: number, n: number) => {
    let acc = 0;
    for (let p = 0; p < n; p++) acc += offsets[p]! + sigma * Math.sqrt(prompts) * pointNoise(m, s, seed, p);
    return f(m, s) + acc / n;
  };
}

export function syntheticLandscape(shape: string, sigma: number, seed: number, prompts = SYNTHETIC_PROMPTS): BenchLandscape {
  const f = SYNTHETIC_SHAPES[shape];
  if (!f) throw new Error(`unknown synthetic shape "${shape}", expected one of ${Object.keys(SYNTHETIC_SHAPES).join(", ")}`);
  const name = sigma === 0 ? shape : `${shape} σ=${sigma} seed ${seed}`;
  return { name, prompts, observe: promptedObserve(f, sigma, seed, prompts), truth: f, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
}

/** Uniform [0, 1) stream from a seed (mulberry32), for drawing random landscape shapes. */
function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random rotated, anisotropic bump (4.5 + 1.2·exp(−Q/2)) with its optimum anywhere in [0.8, 1.2]², widths
 * 0.08–0.3 and 0.08–0.6, plus noise σ = 0.05. A family of these was used to choose the fast search's starting
 * design, so the named shapes above stay an independent check.
 */
export function randomBumpLandscape(seed: number, sigma = 0.05): BenchLandscape {
  const truth = randomBumpShape(seed);
  const name = `random bump ${seed} σ=${sigma}`;
  return { name, prompts: SYNTHETIC_PROMPTS, observe: promptedObserve(truth, sigma, seed, SYNTHETIC_PROMPTS), truth, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
}

function randomBumpShape(seed: number): (m: number, s: number) => number {
  const u = uniformStream(seed * 7919 + 17);
  const m0 = 0.8 + 0.4 * u();
  const s0 = 0.8 + 0.4 * u();
  const w1 = 0.08 + 0.22 * u();
  const w2 = 0.08 + 0.52 * u();
  const theta = Math.PI * u();
  const c = Math.cos(theta);
  const sn = Math.sin(theta);
  const truth = (m: number, s: number) => {
    const a = (m - m0) * c + (s - s0) * sn;
    const b = -(m - m0) * sn + (s - s0) * c;
    return 4.5 + 1.2 * Math.exp(-0.5 * ((a / w1) ** 2 + (b / w2) ** 2));
  };
  return truth;
}

/**
 * A random pair of round bumps on a 4.8 floor: heights 0.5–1.0, widths 0.06–0.2, centres anywhere in the box at
 * least 0.15 apart, noise σ = 0.05. The global optimum is often the narrower bump, which a local method misses; this
 * family tunes the exploration of the fast search (the named "two-bumps" shape stays a held-out check).
 */
export function randomTwoBumpLandscape(seed: number, sigma = 0.05): BenchLandscape {
  const truth = randomTwoBumpShape(seed);
  const name = `random two-bump ${seed} σ=${sigma}`;
  return { name, prompts: SYNTHETIC_PROMPTS, observe: promptedObserve(truth, sigma, seed, SYNTHETIC_PROMPTS), truth, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
}

function randomTwoBumpShape(seed: number): (m: number, s: number) => number {
  const u = uniformStream(seed * 104729 + 31);
  const bumps: Array<{ m: number; s: number; h: number; w: number }> = [];
  while (bumps.length < 2) {
    const b = { m: 0.8 + 0.4 * u(), s: 0.8 + 0.4 * u(), h: 0.5 + 0.5 * u(), w: 0.06 + 0.14 * u() };
    if (bumps.every((o) => Math.hypot(o.m - b.m, o.s - b.s) >= 0.15)) bumps.push(b);
  }
  return (m: number, s: number) => 4.8 + bumps.reduce((a, b) => a + b.h * gauss(m, s, b.m, b.s, b.w), 0);
}

/**
 * Prompt × (m, s) interaction, as real prompts show it: each prompt p sees the shape moved and scaled,
 *   g_p(m, s) = d_p + f̄ + κ_p·(f(m − δm_p, s − δs_p) − f̄),
 * with its own optimum offset (δm_p, δs_p ~ N(0, shift²)), curvature κ_p (log-normal, sd `curvature`) and offset
 * d_p (spread 0.5); f̄ is f's mean over the 9×9 grid. A few prompts then rank candidates unlike the whole set, which
 * the additive prompt model above cannot show. The truth is the mean of the noise-free g_p over all P prompts
 * (what the grid estimates), not f itself; per-image noise as above.
 */
export interface InteractionOptions {
  shift: number;
  curvature: number;
}

/**
 * Interaction strength of the synthetic families, set from the recorded tuning table (interaction-stats.ts): there a
 * prompt's landscape departs from the set's by 0.93× the set's own relief, neighbour correlation 0.46; this model
 * with σ = 0.05 gives 1.04–1.05 and 0.51–0.56.
 */
export const DEFAULT_INTERACTION: Readonly<InteractionOptions> = Object.freeze({ shift: 0.06, curvature: 0.35 });

export function interactingLandscape(name: string, f: (m: number, s: number) => number, sigma: number, seed: number, inter: InteractionOptions = DEFAULT_INTERACTION, prompts = SYNTHETIC_PROMPTS): BenchLandscape {
  let fBar = 0;
  for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) fBar += f(0.8 + 0.05 * i, 0.8 + 0.05 * j) / 81;
  const per = Array.from({ length: prompts }, (_, p) => ({
    d: 0.5 * pointNoise(0, 0, seed + 7777, p),
    dm: inter.shift * pointNoise(1, 0, seed + 7777, p),
    ds: inter.shift * pointNoise(0, 1, seed + 7777, p),
    k: Math.exp(inter.curvature * pointNoise(1, 1, seed + 7777, p)),
  }));
  const g = (p: number, m: number, s: number) => {
    const q = per[p]!;
    return q.d + fBar + q.k * (f(m - q.dm, s - q.ds) - fBar);
  };
  const observe = (m: number, s: number, n: number) => {
    let acc = 0;
    for (let p = 0; p < n; p++) acc += g(p, m, s) + sigma * Math.sqrt(prompts) * pointNoise(m, s, seed, p);
    return acc / n;
  };
  const truth = (m: number, s: number) => {
    let acc = 0;
    for (let p = 0; p < prompts; p++) acc += g(p, m, s);
    return acc / prompts;
  };
  return { name, prompts, observe, truth, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
}

/** A named shape with prompt interaction (held-out check, like the named shapes). */
export function interactingNamedLandscape(shape: string, sigma: number, seed: number): BenchLandscape {
  const f = SYNTHETIC_SHAPES[shape];
  if (!f) throw new Error(`unknown synthetic shape "${shape}", expected one of ${Object.keys(SYNTHETIC_SHAPES).join(", ")}`);
  return interactingLandscape(`${shape} × prompts σ=${sigma} seed ${seed}`, f, sigma, seed);
}

/** The tuning set: the fast search's constants were chosen on these seeds only (bench/calibration/tune.ts). */
export const TUNING_SEEDS = Array.from({ length: 60 }, (_, i) => 100 + i);
/** Seeds of the interacting tuning families (other shapes than the additive ones). */
export const TUNING_INTERACTION_SEEDS = Array.from({ length: 40 }, (_, i) => 200 + i);
/**
 * Seeds of the 25-prompt interacting tuning families: calibrate's default prompt count, where a screening level of
 * round(P · screenFraction) prompts costs more per candidate than at P = 8.
 */
export const TUNING_P25_SEEDS = Array.from({ length: 30 }, (_, i) => 300 + i);
export const TUNING_P25_PROMPTS = 25;
/** Prompt resamples of each recorded tuning table. */
export const TUNING_RESAMPLES = 30;

/**
 * Recorded tables kept for tuning only (bench/calibration/landscapes-tuning): recorded like the held-out ones in
 * landscapes/ but with other prompts, so the held-out tables never inform a constant.
 */
export const TUNING_TABLE_FOLDER = join(dirname(fileURLToPath(import.meta.url)), "landscapes-tuning");

export interface TuningLandscape {
  group: string;
  landscape: BenchLandscape;
}

/** `count` prompt orders of P prompts drawn with replacement (bootstrap over prompts), seeded. */
export function promptResamples(P: number, count: number, seed: number): number[][] {
  const r = xorshift(seed);
  return Array.from({ length: count }, () => Array.from({ length: P }, () => Math.floor(r() * P)));
}

export function tuningLandscapes(): TuningLandscape[] {
  const out: TuningLandscape[] = [
    ...TUNING_SEEDS.map((s) => ({ group: "tuning: random bumps σ = 0.05", landscape: randomBumpLandscape(s) })),
    ...TUNING_SEEDS.map((s) => ({ group: "tuning: random two-bumps σ = 0.05", landscape: randomTwoBumpLandscape(s) })),
    ...TUNING_INTERACTION_SEEDS.map((s) => ({ group: "tuning: random bumps × prompts σ = 0.05", landscape: interactingLandscape(`random bump × prompts ${s}`, randomBumpShape(s), 0.05, s) })),
    ...TUNING_INTERACTION_SEEDS.map((s) => ({ group: "tuning: random two-bumps × prompts σ = 0.05", landscape: interactingLandscape(`random two-bump × prompts ${s}`, randomTwoBumpShape(s), 0.05, s) })),
    ...TUNING_P25_SEEDS.map((s) => ({ group: "tuning: random bumps × 25 prompts σ = 0.05", landscape: interactingLandscape(`random bump × 25 prompts ${s}`, randomBumpShape(s), 0.05, s, DEFAULT_INTERACTION, TUNING_P25_PROMPTS) })),
    ...TUNING_P25_SEEDS.map((s) => ({ group: "tuning: random two-bumps × 25 prompts σ = 0.05", landscape: interactingLandscape(`random two-bump × 25 prompts ${s}`, randomTwoBumpShape(s), 0.05, s, DEFAULT_INTERACTION, TUNING_P25_PROMPTS) })),
  ];
  if (existsSync(TUNING_TABLE_FOLDER)) {
    for (const f of readdirSync(TUNING_TABLE_FOLDER).filter((x) => x.endsWith(".json")).sort()) {
      const name = f.replace(/\.json$/, "");
      const file = JSON.parse(readFileSync(join(TUNING_TABLE_FOLDER, f), "utf8")) as RecordedLandscapeFile;
      const group = `tuning: recorded ${name} (as recorded + ${TUNING_RESAMPLES} prompt resamples)`;
      out.push({ group, landscape: recordedLandscape(name, file) });
      const P = file.per_image!.clip_score_pair[0]![0]!.length;
      for (const [k, order] of promptResamples(P, TUNING_RESAMPLES, 4242).entries()) out.push({ group, landscape: recordedLandscape(`${name} resample ${k}`, file, order) });
    }
  }
  return out;
}

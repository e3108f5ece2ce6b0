/**
 * Objectives for the calibration-search benchmark: the three recorded toy-shapes JAQ tables (9×9, looked up at the
 * nearest grid point) and synthetic landscapes with known optima, optionally with seeded noise.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface BenchLandscape {
  name: string;
  /** Noisy (or recorded) value: what the searches see. */
  observe(m: number, s: number): number;
  /** Noise-free value used to judge a chosen point; equals `observe` for recorded tables. */
  truth(m: number, s: number): number;
  /** Lattice spacing the fast search uses on this landscape (0.05 = the recorded grid, so lookups are exact). */
  resolution: number;
  noiseSigma: number;
  kind: "recorded" | "synthetic";
}

/** A recorded table `jaq[i_m][j_s]` over `axes.m` × `axes.s` (see /work/shared/toy-shapes/README.md). */
interface RecordedLandscapeFile {
  axes: { m: number[]; s: number[] };
  jaq: number[][];
}

function nearestIndex(axis: readonly number[], x: number): number {
  let best = 0;
  for (let i = 1; i < axis.length; i++) if (Math.abs(axis[i]! - x) < Math.abs(axis[best]! - x)) best = i;
  return best;
}

/** Nearest-grid-point lookup: off-grid points take the value of the closest recorded point (no interpolation). */
export function recordedLandscape(name: string, file: RecordedLandscapeFile): BenchLandscape {
  const f = (m: number, s: number) => file.jaq[nearestIndex(file.axes.m, m)]![nearestIndex(file.axes.s, s)]!;
  return { name, observe: f, truth: f, resolution: 0.05, noiseSigma: 0, kind: "recorded" };
}

export function loadRecordedLandscapes(folder: string): BenchLandscape[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => recordedLandscape(f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(folder, f), "utf8")) as RecordedLandscapeFile));
}

/** Deterministic N(0, 1) per (point, seed): the same candidate always gets the same noise, like common random numbers. */
export function pointNoise(m: number, s: number, seed: number): number {
  let h = 2166136261 ^ seed;
  for (const ch of `${m.toFixed(6)},${s.toFixed(6)}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
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

export function syntheticLandscape(shape: string, sigma: number, seed: number): BenchLandscape {
  const f = SYNTHETIC_SHAPES[shape];
  if (!f) throw new Error(`unknown synthetic shape "${shape}", expected one of ${Object.keys(SYNTHETIC_SHAPES).join(", ")}`);
  const name = sigma === 0 ? shape : `${shape} σ=${sigma} seed ${seed}`;
  return { name, observe: (m, s) => f(m, s) + sigma * pointNoise(m, s, seed), truth: f, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
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
  const name = `random bump ${seed} (opt ${m0.toFixed(2)}, ${s0.toFixed(2)}) σ=${sigma}`;
  return { name, observe: (m, s) => truth(m, s) + sigma * pointNoise(m, s, seed), truth, resolution: 0.01, noiseSigma: sigma, kind: "synthetic" };
}

/**
 * Q-Sched calibration: search (m, s) for the quantized model by JAQ over a fixed prompt set. Every candidate uses the
 * same prompts and seeds (common random numbers), so score differences between candidates come from (m, s), not from
 * different noise draws. Returns a coefficient file and every evaluated point (the landscape).
 */
import type { CoefficientFile } from "../scheduler/coefficient-file.ts";
import { JaqEvaluator, type CandidateImage, type ImageScorer } from "./image-scorer.ts";
import { CalibrationJournal, hashPrompts, type JournalEntry, type JournalStore } from "./journal.ts";
import { DEFAULT_CALIBRATION_PROMPTS, defaultSeeds } from "./prompts.ts";
import { DEFAULT_JAQ_K } from "./scores.ts";
import { fastSearch, FAST_DEFAULT_BUDGET, FAST_MIN_BUDGET } from "./search/fast.ts";
import { gridSearch } from "./search/grid.ts";
import { DEFAULT_BOX, validateBudget, type SearchBox } from "./search/types.ts";

/** Generates one image for one prompt and seed with Q-Sched endpoints (m, s); calibrate() disposes its `rgba`. */
export type CandidateGenerator = (m: number, s: number, prompt: string, seed: number) => Promise<CandidateImage>;

export interface LandscapePoint {
  m: number;
  s: number;
  /** JAQ; null when the candidate failed (non-finite score). */
  jaq: number | null;
  clipScore?: number | null;
  meanClipIqa?: number | null;
  failed: boolean;
  /** True when the value came from the journal of an earlier, interrupted run. */
  resumed: boolean;
}

export interface CalibrationProgress {
  /** Candidates finished so far (resumed ones included) and the most the search may use. */
  done: number;
  planned: number;
  point: LandscapePoint;
  best?: { m: number; s: number; jaq: number };
  elapsedMs: number;
}

export interface CalibrateOptions {
  /** Model id written into the coefficient file and the journal key. */
  model: string;
  /** Quantization scheme of the model being calibrated ("w4a8", …): part of the journal key. */
  scheme: string;
  steps: number;
  generate: CandidateGenerator;
  scorer: ImageScorer;
  /** Default: the built-in toy-vocabulary set (prompts.ts). */
  prompts?: readonly string[];
  /** One seed per prompt; default 100 + index. */
  seeds?: readonly number[];
  /** JAQ weight of mean CLIP-IQA; default 2 (the paper's). */
  k?: number;
  search?: "grid" | "fast";
  budget?: number;
  box?: SearchBox;
  /** Grid points per axis (grid search); default 9. */
  gridN?: number;
  /** Lattice spacing of the fast search; default 0.01. */
  resolution?: number;
  /** Extra settings that change scores (e.g. guidance scale), so journals of different settings are not mixed. */
  extraKey?: Record<string, string | number | boolean | null>;
  journal?: JournalStore;
  onProgress?: (p: CalibrationProgress) => void;
  /** Date written into the coefficient file; default now. */
  date?: Date;
}

export interface CalibrationResult {
  coefficients: CoefficientFile;
  landscape: LandscapePoint[];
  /** Objective calls made by this run (candidates generated and scored, journal replays excluded). */
  generatedCandidates: number;
}

export async function calibrate(options: CalibrateOptions): Promise<CalibrationResult> {
  const prompts = [...(options.prompts ?? DEFAULT_CALIBRATION_PROMPTS)];
  if (prompts.length === 0) throw new Error("calibrate: the prompt set is empty, expected at least one prompt");
  const seeds = [...(options.seeds ?? defaultSeeds(prompts.length))];
  if (seeds.length !== prompts.length) throw new Error(`calibrate: ${seeds.length} seeds for ${prompts.length} prompts, expected one seed per prompt`);
  if (!Number.isInteger(options.steps) || options.steps < 1) throw new Error(`calibrate: steps must be an integer ≥ 1, found ${options.steps}`);
  const k = options.k ?? DEFAULT_JAQ_K;
  const searchName = options.search ?? "fast";
  if (searchName !== "grid" && searchName !== "fast") throw new Error(`calibrate: search must be "grid" or "fast", found ${JSON.stringify(searchName)}`);
  const box = options.box ?? DEFAULT_BOX;
  const gridN = options.gridN ?? 9;
  const budget = options.budget ?? (searchName === "grid" ? gridN * gridN : FAST_DEFAULT_BUDGET);
  // Checked before the journal is opened, so a bad budget leaves no journal behind.
  validateBudget(searchName, budget, searchName === "grid" ? gridN * gridN : FAST_MIN_BUDGET);
  const planned = searchName === "grid" ? gridN * gridN : budget;
  const evaluator = new JaqEvaluator(options.scorer, prompts, k);

  const journal = options.journal
    ? await CalibrationJournal.open(options.journal, {
        model: options.model,
        scheme: options.scheme,
        steps: options.steps,
        promptsHash: await hashPrompts(prompts),
        seeds,
        search: {
          search: searchName,
          budget,
          k,
          mMin: box.mMin,
          mMax: box.mMax,
          sMin: box.sMin,
          sMax: box.sMax,
          ...(searchName === "grid" ? { n: gridN } : { resolution: options.resolution ?? 0.01 }),
          ...options.extraKey,
        },
      })
    : undefined;

  const details = new Map<string, LandscapePoint>();
  const t0 = Date.now();
  let generatedCandidates = 0;
  let best: CalibrationProgress["best"];

  const finish = (entry: JournalEntry, resumed: boolean): number => {
    const point: LandscapePoint = { ...entry, resumed };
    details.set(`${entry.m},${entry.s}`, point);
    if (!entry.failed && entry.jaq !== null && (best === undefined || entry.jaq > best.jaq)) best = { m: entry.m, s: entry.s, jaq: entry.jaq };
    options.onProgress?.({ done: details.size, planned, point, best, elapsedMs: Date.now() - t0 });
    return entry.jaq ?? Number.NaN;
  };

  const objective = async (m: number, s: number): Promise<number> => {
    const recorded = journal?.lookup(m, s);
    if (recorded) return finish(recorded, true);
    const images: CandidateImage[] = [];
    let scores;
    try {
      for (let i = 0; i < prompts.length; i++) images.push(await options.generate(m, s, prompts[i]!, seeds[i]!));
      scores = await evaluator.score(images);
    } finally {
      for (const img of images) img.rgba?.dispose();
    }
    generatedCandidates++;
    const ok = Number.isFinite(scores.jaq);
    const entry: JournalEntry = {
      m,
      s,
      jaq: ok ? scores.jaq : null,
      clipScore: Number.isFinite(scores.clipScore) ? scores.clipScore : null,
      meanClipIqa: Number.isFinite(scores.meanClipIqa) ? scores.meanClipIqa : null,
      failed: !ok,
    };
    await journal?.record(entry);
    return finish(entry, false);
  };

  const result =
    searchName === "grid"
      ? await gridSearch(objective, { box, n: gridN, budget })
      : await fastSearch(objective, { box, budget, resolution: options.resolution });

  const landscape = result.evaluations.map((e) => details.get(`${e.m},${e.s}`)!);
  const coefficients: CoefficientFile = {
    model: options.model,
    steps: options.steps,
    qsched: { scheme: "linear", m: result.best.m, s: result.best.s },
    calibration: { metric: "JAQ", score: result.best.score },
    date: (options.date ?? new Date()).toISOString(),
    quant: options.scheme.toLowerCase() === "none" ? "none" : options.scheme.toUpperCase(),
  };
  return { coefficients, landscape, generatedCandidates };
}

import { CandidateLog } from "./candidate-log.ts";
import { DEFAULT_BOX, validateBox, validateBudget, validatePrompts, type PromptObjective, type SearchCommonOptions, type SearchResult } from "./types.ts";

export interface GridSearchOptions extends SearchCommonOptions {
  /** Points per axis; the paper uses 9 over [0.8, 1.2] (step 0.05). */
  n?: number;
}

/**
 * The n values lo, …, hi evenly spaced. Rounded to 12 significant digits so coefficient files read 0.85, not
 * 0.8500000000000001 (far below any effect on images: the scheduler uses float32).
 */
export function gridAxis(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [Number(((lo + hi) / 2).toPrecision(12))];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? hi : Number((lo + ((hi - lo) * i) / (n - 1)).toPrecision(12))));
}

/**
 * The paper's exhaustive search: every point of an n×n grid over the box, m-major order, each scored on every prompt.
 * Needs n²·P generations.
 */
export function validateGridN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`grid search: n must be a positive integer, found ${n}`);
}

export async function gridSearch(evaluate: PromptObjective, options: GridSearchOptions = {}): Promise<SearchResult> {
  const box = options.box ?? DEFAULT_BOX;
  validateBox(box);
  const n = options.n ?? 9;
  validateGridN(n);
  const prompts = options.prompts ?? 1;
  validatePrompts("grid", prompts);
  const needed = n * n * prompts;
  validateBudget("grid", options.budget ?? needed, needed, `${n}×${n} points × ${prompts} prompt${prompts === 1 ? "" : "s"}`);
  const log = new CandidateLog(evaluate, needed, prompts, options.onEvaluation);
  for (const m of gridAxis(box.mMin, box.mMax, n)) for (const s of gridAxis(box.sMin, box.sMax, n)) await log.evaluate(m, s, prompts);
  return log.result("grid");
}

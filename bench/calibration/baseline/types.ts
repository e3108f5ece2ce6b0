/** Frozen copy (commit 462172b) for the baseline fast search; do not use outside bench/calibration/baseline. */
/**
 * Shared shapes of the Q-Sched coefficient searches: a search asks an objective for the JAQ of candidate (m, s)
 * points and returns the best one plus every evaluation in the order it was made.
 */

/** The JAQ of one candidate; NaN or ±Infinity marks a failed candidate (the search carries on without it). */
export type Objective = (m: number, s: number) => Promise<number>;

/** The (m, s) rectangle searched; both Q-Sched endpoints are multipliers near 1. */
export interface SearchBox {
  mMin: number;
  mMax: number;
  sMin: number;
  sMax: number;
}

/** The paper's search range: m, s ∈ [0.8, 1.2]. */
export const DEFAULT_BOX: Readonly<SearchBox> = Object.freeze({ mMin: 0.8, mMax: 1.2, sMin: 0.8, sMax: 1.2 });

/** One evaluated candidate; `failed` when the objective returned a non-finite value (kept as `score`). */
export interface Evaluation {
  m: number;
  s: number;
  score: number;
  failed: boolean;
}

export interface SearchResult {
  best: { m: number; s: number; score: number };
  evaluations: Evaluation[];
}

/** Options every search takes. */
export interface SearchCommonOptions {
  box?: SearchBox;
  /** Most objective calls allowed; a search whose minimum is larger throws before evaluating anything. */
  budget?: number;
  /** Called after each evaluation completes (progress bars). */
  onEvaluation?: (e: Evaluation, index: number, planned: number) => void;
}

/** Thrown when a budget is below what a search needs; names both numbers. */
export class BudgetError extends Error {
  constructor(
    readonly search: string,
    readonly minimum: number,
    readonly budget: number,
  ) {
    super(`${search} search needs a budget of at least ${minimum} evaluations, found ${budget}`);
    this.name = "BudgetError";
  }
}

/** Checks a box: finite, min < max on both axes. */
export function validateBox(box: SearchBox): void {
  for (const [lo, hi, name] of [
    [box.mMin, box.mMax, "m"],
    [box.sMin, box.sMax, "s"],
  ] as const) {
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
      throw new Error(`search box: ${name} range must be finite with min < max, found [${lo}, ${hi}]`);
    }
  }
}

/** Checks a budget value: a positive integer. */
export function validateBudget(search: string, budget: number, minimum: number): void {
  if (!Number.isInteger(budget) || budget < 1) throw new Error(`${search} search: budget must be a positive integer, found ${budget}`);
  if (budget < minimum) throw new BudgetError(search, minimum, budget);
}

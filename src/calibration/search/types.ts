/**
 * Shared shapes of the Q-Sched coefficient searches: a search asks an objective for the JAQ of candidate (m, s)
 * points and returns the best one plus every evaluation in the order it was made.
 */

/** The JAQ of one candidate; NaN or ±Infinity marks a failed candidate (the search carries on without it). */
export type Objective = (m: number, s: number) => Promise<number>;

/**
 * The JAQ of candidate (m, s) over the first `prompts` prompts of the calibration set (each prompt with its fixed
 * seed: common random numbers, so two candidates scored on the same prompts differ by (m, s) alone). A later call
 * for the same point with more prompts extends it: only the new prompts are generated. An `Objective` is a
 * `PromptObjective` over one indivisible "prompt" (the whole set).
 */
export type PromptObjective = (m: number, s: number, prompts: number) => Promise<number>;

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
  /** JAQ over the first `prompts` prompts (the most this candidate was scored on). */
  score: number;
  failed: boolean;
  /** Prompts scored (1 for searches over indivisible evaluations). */
  prompts: number;
  /** Score after each extension, in order: what the search saw at each prompt count. */
  levels: Array<{ prompts: number; score: number }>;
}

export interface SearchResult {
  best: { m: number; s: number; score: number };
  evaluations: Evaluation[];
  /** Generations spent (images: candidates × prompts they were scored on). */
  generations: number;
}

/** Options every search takes. */
export interface SearchCommonOptions {
  box?: SearchBox;
  /**
   * Most generations (images: one per candidate per prompt) allowed; a search whose minimum is larger throws before
   * evaluating anything. With `prompts` 1 a generation is one whole evaluation.
   */
  budget?: number;
  /** Prompts in the calibration set (P); a full evaluation of a candidate costs P generations. Default 1. */
  prompts?: number;
  /** Called after each evaluation or extension completes (progress bars): generations used so far and the budget. */
  onEvaluation?: (e: Evaluation, used: number, planned: number) => void;
}

/** Thrown when a budget is below what a search needs; names both numbers. */
export class BudgetError extends Error {
  constructor(
    readonly search: string,
    readonly minimum: number,
    readonly budget: number,
    detail?: string,
  ) {
    super(`${search} search needs a budget of at least ${minimum} generations${detail ? ` (${detail})` : ""}, found ${budget}`);
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
export function validateBudget(search: string, budget: number, minimum: number, detail?: string): void {
  if (!Number.isInteger(budget) || budget < 1) throw new Error(`${search} search: budget must be a positive integer, found ${budget}`);
  if (budget < minimum) throw new BudgetError(search, minimum, budget, detail);
}

/** Checks a prompt count: a positive integer. */
export function validatePrompts(search: string, prompts: number): void {
  if (!Number.isInteger(prompts) || prompts < 1) throw new Error(`${search} search: prompts must be a positive integer, found ${prompts}`);
}

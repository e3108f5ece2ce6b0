/** Frozen copy (commit 462172b) for the baseline fast search; do not use outside bench/calibration/baseline. */
import type { Evaluation, Objective, SearchResult } from "./types.ts";

/**
 * Bookkeeping shared by the searches: calls the objective at most once per distinct (m, s), counts calls against the
 * budget, marks non-finite scores as failed, and knows the best successful candidate so far.
 */
export class CandidateLog {
  readonly evaluations: Evaluation[] = [];
  private readonly byKey = new Map<string, Evaluation>();

  constructor(
    private readonly objective: Objective,
    readonly budget: number,
    private readonly onEvaluation?: (e: Evaluation, index: number, planned: number) => void,
  ) {}

  get used(): number {
    return this.evaluations.length;
  }

  get remaining(): number {
    return this.budget - this.evaluations.length;
  }

  /** The earlier evaluation of this point, if any (points are compared after rounding away float noise). */
  lookup(m: number, s: number): Evaluation | undefined {
    return this.byKey.get(pointKey(m, s));
  }

  /** Evaluates (m, s) unless already done; repeats cost nothing. Throws when the budget is spent. */
  async evaluate(m: number, s: number): Promise<Evaluation> {
    const known = this.lookup(m, s);
    if (known) return known;
    if (this.remaining <= 0) throw new Error(`search: budget of ${this.budget} evaluations is spent, cannot evaluate (${m}, ${s})`);
    const score = await this.objective(m, s);
    const e: Evaluation = { m, s, score, failed: typeof score !== "number" || !Number.isFinite(score) };
    this.evaluations.push(e);
    this.byKey.set(pointKey(m, s), e);
    this.onEvaluation?.(e, this.evaluations.length, this.budget);
    return e;
  }

  /** Successful evaluations only. */
  successes(): Evaluation[] {
    return this.evaluations.filter((e) => !e.failed);
  }

  /** Best successful candidate; ties keep the earlier one. Undefined when all failed. */
  best(): Evaluation | undefined {
    let best: Evaluation | undefined;
    for (const e of this.evaluations) if (!e.failed && (best === undefined || e.score > best.score)) best = e;
    return best;
  }

  /** The search result; throws when no candidate succeeded (nothing to choose). */
  result(search: string): SearchResult {
    const best = this.best();
    if (!best) throw new Error(`${search} search: all ${this.evaluations.length} candidates failed (non-finite scores), nothing to choose`);
    return { best: { m: best.m, s: best.s, score: best.score }, evaluations: [...this.evaluations] };
  }
}

/** Identity of a point: 9 decimals absorbs float noise from lattice arithmetic (0.1 + 0.2). */
export function pointKey(m: number, s: number): string {
  return `${m.toFixed(9)},${s.toFixed(9)}`;
}

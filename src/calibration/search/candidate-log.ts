import type { Evaluation, PromptObjective, SearchResult } from "./types.ts";

/**
 * Bookkeeping shared by the searches: scores each distinct (m, s) on a growing prefix of the prompt set, counts
 * generations (one image per candidate per prompt) against the budget, marks non-finite scores as failed, and knows
 * the best candidate so far among those scored on every prompt.
 */
export class CandidateLog {
  /** One entry per distinct point, in the order the points were first evaluated; extensions update it in place. */
  readonly evaluations: Evaluation[] = [];
  private readonly byKey = new Map<string, Evaluation>();
  private spent = 0;

  constructor(
    private readonly objective: PromptObjective,
    /** Generations allowed. */
    readonly budget: number,
    /** Prompts in the set (P); a candidate scored on all P is fully evaluated. */
    readonly prompts: number,
    private readonly onEvaluation?: (e: Evaluation, used: number, planned: number) => void,
  ) {}

  /** Generations spent so far. */
  get used(): number {
    return this.spent;
  }

  get remaining(): number {
    return this.budget - this.spent;
  }

  /** The evaluation of this point so far, if any (points are compared after rounding away float noise). */
  lookup(m: number, s: number): Evaluation | undefined {
    return this.byKey.get(pointKey(m, s));
  }

  /** What scoring (m, s) on its first `prompts` prompts would still cost in generations. */
  cost(m: number, s: number, prompts: number): number {
    return Math.max(0, prompts - (this.lookup(m, s)?.prompts ?? 0));
  }

  /**
   * Scores (m, s) on its first `prompts` prompts, generating only the ones it lacks; asking for no more than it has
   * costs nothing and returns the current evaluation. A failed candidate is not extended. Throws when the budget
   * cannot pay for it.
   */
  async evaluate(m: number, s: number, prompts = this.prompts): Promise<Evaluation> {
    if (!Number.isInteger(prompts) || prompts < 1 || prompts > this.prompts) {
      throw new Error(`search: a candidate can be scored on 1 to ${this.prompts} prompts, asked for ${prompts}`);
    }
    const known = this.lookup(m, s);
    if (known && (known.failed || known.prompts >= prompts)) return known;
    const cost = this.cost(m, s, prompts);
    if (cost > this.remaining) {
      throw new Error(`search: budget of ${this.budget} generations has ${this.remaining} left, scoring (${m}, ${s}) on ${prompts} prompts needs ${cost}`);
    }
    const score = await this.objective(m, s, prompts);
    this.spent += cost;
    const failed = typeof score !== "number" || !Number.isFinite(score);
    let e = known;
    if (e) {
      e.score = score;
      e.failed = failed;
      e.prompts = prompts;
      e.levels.push({ prompts, score });
    } else {
      e = { m, s, score, failed, prompts, levels: [{ prompts, score }] };
      this.evaluations.push(e);
      this.byKey.set(pointKey(m, s), e);
    }
    this.onEvaluation?.(e, this.spent, this.budget);
    return e;
  }

  /** Successful candidates' scores at exactly `prompts` prompts (every candidate that reached it kept that score). */
  scoresAt(prompts: number): Array<{ e: Evaluation; score: number }> {
    const out: Array<{ e: Evaluation; score: number }> = [];
    for (const e of this.evaluations) {
      const level = e.levels.find((l) => l.prompts === prompts);
      if (level && Number.isFinite(level.score)) out.push({ e, score: level.score });
    }
    return out;
  }

  /** Successful evaluations only. */
  successes(): Evaluation[] {
    return this.evaluations.filter((e) => !e.failed);
  }

  /** Best successful candidate scored on all prompts; ties keep the earlier one. Undefined when there is none. */
  best(): Evaluation | undefined {
    let best: Evaluation | undefined;
    for (const e of this.evaluations) if (!e.failed && e.prompts === this.prompts && (best === undefined || e.score > best.score)) best = e;
    return best;
  }

  /** The search result for a chosen point (default: the best fully scored one); throws when there is none. */
  result(search: string, chosen: Evaluation | undefined = this.best()): SearchResult {
    if (!chosen) {
      throw new Error(`${search} search: no candidate was scored successfully on all ${this.prompts} prompts (${this.evaluations.length} candidates, ${this.evaluations.filter((e) => e.failed).length} failed), nothing to choose`);
    }
    return { best: { m: chosen.m, s: chosen.s, score: chosen.score }, evaluations: this.evaluations.map((e) => ({ ...e, levels: [...e.levels] })), generations: this.spent };
  }
}

/** Identity of a point: 9 decimals absorbs float noise from lattice arithmetic (0.1 + 0.2). */
export function pointKey(m: number, s: number): string {
  return `${m.toFixed(9)},${s.toFixed(9)}`;
}

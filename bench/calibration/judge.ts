/**
 * One benchmark comparison: the paper's 9×9 grid and the fast search on the same landscape, both judged on the
 * landscape's truth. Budgets are in generations (one image per candidate per prompt): the grid spends 81·P, the
 * fast search at most 10 % of that.
 */
import { fastSearch, fastDefaultBudget, type FastTuning } from "../../src/calibration/search/fast.ts";
import { gridSearch } from "../../src/calibration/search/grid.ts";
import type { BenchLandscape } from "./landscapes.ts";

export const GRID_N = 9;
/** Target: within 1 % of the grid's JAQ using at most 10 % of its generations. */
export const TARGET_GAP_PERCENT = 1;
export const TARGET_GENERATION_FRACTION = 0.1;

export interface Pick {
  m: number;
  s: number;
  observed: number;
  truth: number;
  candidates: number;
  generations: number;
}

export interface Row {
  landscape: string;
  kind: string;
  noiseSigma: number;
  prompts: number;
  grid: Pick;
  fast: Pick;
  gapPercent: number;
  meetsTarget: boolean;
}

/** The grid's pick on a landscape (it does not depend on the fast search's settings, so callers may reuse it). */
export async function gridPick(l: BenchLandscape): Promise<Pick> {
  const grid = await gridSearch(async (m, s, n) => l.observe(m, s, n), { n: GRID_N, prompts: l.prompts });
  return { ...grid.best, observed: grid.best.score, truth: l.truth(grid.best.m, grid.best.s), candidates: grid.evaluations.length, generations: grid.generations };
}

export async function fastPick(l: BenchLandscape, tuning?: Partial<FastTuning>): Promise<Pick> {
  const fast = await fastSearch(async (m, s, n) => l.observe(m, s, n), { budget: fastDefaultBudget(l.prompts), prompts: l.prompts, resolution: l.resolution, tuning });
  return { ...fast.best, observed: fast.best.score, truth: l.truth(fast.best.m, fast.best.s), candidates: fast.evaluations.length, generations: fast.generations };
}

export function judge(l: BenchLandscape, grid: Pick, fast: Pick): Row {
  const gapPercent = (100 * (grid.truth - fast.truth)) / Math.abs(grid.truth);
  return {
    landscape: l.name,
    kind: l.kind,
    noiseSigma: l.noiseSigma,
    prompts: l.prompts,
    grid,
    fast,
    gapPercent,
    meetsTarget: gapPercent <= TARGET_GAP_PERCENT && fast.generations <= TARGET_GENERATION_FRACTION * grid.generations,
  };
}

export async function benchOne(l: BenchLandscape, tuning?: Partial<FastTuning>): Promise<Row> {
  return judge(l, await gridPick(l), await fastPick(l, tuning));
}

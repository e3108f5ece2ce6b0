/**
 * Calibration-search benchmark (not a test): the paper's 9×9 grid vs the default fast search on the recorded toy
 * JAQ tables and on synthetic landscapes with known optima, noise-free and noisy. Budgets are in generations (images):
 * the grid spends 81·P, the fast search at most 10 % of that. The fast search before racing (bench/calibration/
 * baseline, 8 whole evaluations) runs on the same landscapes as the "before" column.
 * Run: `npm run bench:calibration` (npx vite-node bench/calibration/run.ts). Prints a summary, writes
 * bench/calibration/results/<date>.json and bench/calibration/RESULTS.md.
 *
 * Judging: each search picks by the values it observes; the pick is scored on the landscape's truth (the noise-free
 * function; for a recorded table, the table itself). Gap % = 100·(grid truth − fast truth) / grid truth.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fastSearch as baselineSearch } from "./baseline/fast.ts";
import { fastDefaultBudget, fastMinBudget, fastPlan, FAST_TUNING, type FastTuning } from "../../src/calibration/search/fast.ts";
import { fastPick, gridPick, judge, GRID_N, TARGET_GAP_PERCENT, type Pick, type Row } from "./judge.ts";
import { interactingNamedLandscape, loadRecordedLandscapes, promptResamples, recordedLandscape, SYNTHETIC_SHAPES, syntheticLandscape, tuningLandscapes, TUNING_SEEDS, type BenchLandscape, type RecordedLandscapeFile } from "./landscapes.ts";
import { resultsMarkdown, type Report } from "./report.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const NOISE_SIGMAS = [0.03, 0.07];
const NOISE_SEEDS = [1, 2, 3, 4, 5];
/** Prompt resamples of our tables for the hit-rate check (bootstrap over prompts, seeded). */
const REPLICATES = 100;

/** The fast search before racing: 8 whole evaluations of P generations each (the same 10 %). */
async function baselinePick(l: BenchLandscape): Promise<Pick> {
  const r = await baselineSearch(async (m, s) => l.observe(m, s, l.prompts), { budget: 8, resolution: l.resolution });
  return { ...r.best, observed: r.best.score, truth: l.truth(r.best.m, r.best.s), candidates: r.evaluations.length, generations: r.evaluations.length * l.prompts };
}

/**
 * The racing search as first committed (74387fb): screening on ⌈P/4⌉ prompts, finalists straight from the screening
 * surrogate, no middle level. The current code reproduces it exactly with these settings.
 */
const FIRST_RACING: Partial<FastTuning> = { screenFraction: 0.25, finalistShare: 0.35, designShare: 0.5, exploration: 2.5, latticeFinalists: true, pick: "observed", finalistSpacing: 0.1, midShare: 0 };

export interface BenchRow extends Row {
  group: string;
  before: Row;
  firstRacing: Row;
}

async function benchRow(l: BenchLandscape, group: string): Promise<BenchRow> {
  const grid = await gridPick(l);
  return { ...judge(l, grid, await fastPick(l)), group, before: judge(l, grid, await baselinePick(l)), firstRacing: judge(l, grid, await fastPick(l, FIRST_RACING)) };
}

/** Points of a 9×9 table within 1 % of its maximum. */
function hitSet(l: BenchLandscape): { hits: Set<string>; values: number[] } {
  const values: number[] = [];
  const keys: string[] = [];
  for (let i = 0; i < GRID_N; i++) {
    for (let j = 0; j < GRID_N; j++) {
      const m = Number((0.8 + 0.05 * i).toFixed(2));
      const s = Number((0.8 + 0.05 * j).toFixed(2));
      values.push(l.truth(m, s));
      keys.push(`${m},${s}`);
    }
  }
  const max = Math.max(...values.filter(Number.isFinite));
  return { hits: new Set(keys.filter((_, i) => values[i]! >= max * (1 - TARGET_GAP_PERCENT / 100))), values };
}

/**
 * How often the target is met on tables like ours: each replicate resamples the 8 prompts with replacement (a new
 * prompt set from the same population, the same images), which changes the table and its maximum. Reported: the fast
 * search's and the baseline's rate, and the best rate of any fixed point (what a search that knew the resampling
 * distribution in advance, spending no generations, would get).
 */
async function replicateHitRates(name: string, file: RecordedLandscapeFile, seed: number) {
  const P = file.per_image!.clip_score_pair[0]![0]!.length;
  let fastHits = 0;
  let baseHits = 0;
  let firstHits = 0;
  const fixed = new Map<string, number>();
  for (const order of promptResamples(P, REPLICATES, seed)) {
    const l = recordedLandscape(name, file, order);
    const { hits } = hitSet(l);
    for (const h of hits) fixed.set(h, (fixed.get(h) ?? 0) + 1);
    const f = await fastPick(l);
    const b = await baselinePick(l);
    const r1 = await fastPick(l, FIRST_RACING);
    if (hits.has(`${r1.m},${r1.s}`)) firstHits++;
    if (hits.has(`${f.m},${f.s}`)) fastHits++;
    if (hits.has(`${b.m},${b.s}`)) baseHits++;
  }
  const [bestPoint, bestCount] = [...fixed].reduce((a, x) => (x[1] > a[1] ? x : a));
  return { name, fast: fastHits / REPLICATES, baseline: baseHits / REPLICATES, firstRacing: firstHits / REPLICATES, fixed: bestCount / REPLICATES, fixedPoint: bestPoint };
}

function randomHitProbability(n: number, h: number, k: number): number {
  let miss = 1;
  for (let i = 0; i < k; i++) miss *= (n - h - i) / (n - i);
  return 1 - Math.max(0, miss);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const card = loadRecordedLandscapes(join(ROOT, "test", "fixtures", "landscapes"));
  const oursFolder = join(HERE, "landscapes");
  const ours = loadRecordedLandscapes(oursFolder);
  const rows: BenchRow[] = [];
  for (const l of card) rows.push(await benchRow(l, "recorded toy tables (model card; whole evaluations, P = 1)"));
  for (const l of ours) rows.push(await benchRow(l, `toy tables recorded with our engine (P = ${l.prompts})`));
  for (const shape of Object.keys(SYNTHETIC_SHAPES)) {
    rows.push(await benchRow(syntheticLandscape(shape, 0, 0), "named synthetic, σ = 0"));
    for (const sigma of NOISE_SIGMAS) for (const seed of NOISE_SEEDS) rows.push(await benchRow(syntheticLandscape(shape, sigma, seed), `named synthetic, σ = ${sigma}`));
  }
  // The same shapes with prompt × (m, s) interaction (each prompt its own optimum offset and curvature): held out,
  // the interacting tuning families use random shapes.
  for (const shape of Object.keys(SYNTHETIC_SHAPES)) for (const seed of NOISE_SEEDS) rows.push(await benchRow(interactingNamedLandscape(shape, 0.03, seed), "named synthetic × prompts, σ = 0.03"));
  const tuning: BenchRow[] = [];
  for (const t of tuningLandscapes()) tuning.push(await benchRow(t.landscape, t.group));

  const hitRows = [...card, ...ours].map((l) => {
    const { hits, values } = hitSet(l);
    const row = rows.find((x) => x.landscape === l.name)!;
    const rank = 1 + values.filter((v) => v > row.fast.truth).length;
    const rankBefore = 1 + values.filter((v) => v > row.before.fast.truth).length;
    const rankFirstRacing = 1 + values.filter((v) => v > row.firstRacing.fast.truth).length;
    return { name: l.name, prompts: l.prompts, hits: hits.size, random8: randomHitProbability(81, hits.size, 8), rank, rankBefore, rankFirstRacing };
  });
  const replicates = [];
  for (const [i, f] of readdirSync(oursFolder).filter((x) => x.endsWith(".json")).sort().entries()) {
    replicates.push(await replicateHitRates(f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(oursFolder, f), "utf8")) as RecordedLandscapeFile, 9001 + i));
  }
  let midFrom8 = fastMinBudget(8).generations;
  while (fastPlan(8, midFrom8, 41 * 41, FAST_TUNING).promoted === 0 && midFrom8 < fastDefaultBudget(8)) midFrom8++;
  const report: Report = { date: new Date().toISOString(), rows, tuning, hitRows, replicates, tuningSeeds: [TUNING_SEEDS[0]!, TUNING_SEEDS.at(-1)!], tuningConstants: FAST_TUNING, budget8: fastDefaultBudget(8), replicatesCount: REPLICATES, plan8: fastPlan(8, fastDefaultBudget(8), 41 * 41, FAST_TUNING), midFrom8 };
  const md = resultsMarkdown(report);
  mkdirSync(join(HERE, "results"), { recursive: true });
  const jsonPath = join(HERE, "results", `calibration-search-${report.date.slice(0, 10)}.json`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(HERE, "RESULTS.md"), md);
  console.log(md.split("\n## ")[0]);
  console.error(`wrote ${jsonPath} and ${join(HERE, "RESULTS.md")} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

await main();

/** RESULTS.md for the calibration-search benchmark (run.ts computes, this formats). */
import type { FastTuning } from "../../src/calibration/search/fast.ts";
import type { Row } from "./judge.ts";

export interface Report {
  date: string;
  rows: Array<Row & { group: string; before: Row }>;
  tuning: Array<Row & { group: string; before: Row }>;
  hitRows: Array<{ name: string; prompts: number; hits: number; random8: number; rank: number; rankBefore: number }>;
  replicates: Array<{ name: string; fast: number; baseline: number; fixed: number; fixedPoint: string }>;
  tuningSeeds: [number, number];
  tuningConstants: Readonly<FastTuning>;
  budget8: number;
  replicatesCount: number;
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function groups(rows: Report["rows"]): string {
  const by = new Map<string, Report["rows"]>();
  for (const r of rows) by.set(r.group, [...(by.get(r.group) ?? []), r]);
  const lines = ["| group | landscapes | met (fast, racing) | met (before: 8 whole evaluations) | mean / worst gap % now | mean / worst gap % before |", "|---|---|---|---|---|---|"];
  for (const [g, rs] of by) {
    const now = rs.map((r) => r.gapPercent);
    const before = rs.map((r) => r.before.gapPercent);
    lines.push(`| ${g} | ${rs.length} | ${rs.filter((r) => r.meetsTarget).length} | ${rs.filter((r) => r.before.meetsTarget).length} | ${f2(mean(now))} / ${f2(Math.max(...now))} | ${f2(mean(before))} / ${f2(Math.max(...before))} |`);
  }
  return lines.join("\n");
}

function table(rows: Report["rows"]): string {
  const lines = [
    "| landscape | P | grid pick (m, s) | grid JAQ | fast pick (m, s) | fast JAQ | gap % | images fast / grid | target | before: pick, gap % |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.landscape} | ${r.prompts} | (${f2(r.grid.m)}, ${f2(r.grid.s)}) | ${f3(r.grid.truth)} | (${f2(r.fast.m)}, ${f2(r.fast.s)}) | ${f3(r.fast.truth)} | ${f2(r.gapPercent)} | ${r.fast.generations} / ${r.grid.generations} | ${r.meetsTarget ? "met" : "**missed**"} | (${f2(r.before.fast.m)}, ${f2(r.before.fast.s)}) ${f2(r.before.gapPercent)} |`,
    );
  }
  return lines.join("\n");
}

export function resultsMarkdown(r: Report): string {
  const met = r.rows.filter((x) => x.meetsTarget).length;
  const metBefore = r.rows.filter((x) => x.before.meetsTarget).length;
  const missed = r.rows.filter((x) => !x.meetsTarget);
  const tMet = r.tuning.filter((x) => x.meetsTarget).length;
  const tMetBefore = r.tuning.filter((x) => x.before.meetsTarget).length;
  const worst = r.rows.reduce((a, x) => (x.gapPercent > a.gapPercent ? x : a));
  const hit = r.hitRows.map((h) => `| ${h.name} | ${h.prompts} | ${h.hits} of 81 | ${pct(h.random8)} | ${h.rank} | ${h.rankBefore} |`).join("\n");
  const rep = r.replicates.map((x) => `| ${x.name} | ${pct(x.fast)} | ${pct(x.baseline)} | ${pct(x.fixed)} (${x.fixedPoint}) |`).join("\n");
  return `# Calibration search benchmark

Generated ${r.date} by \`npm run bench:calibration\` (\`npx vite-node bench/calibration/run.ts\`; CPU only, deterministic:
same numbers every run).

**Target** (issue 9, part 3): the fast search's pick is within ${"1 %"} of the grid's best JAQ using ≤ 10 % of the grid's
generations (images). Grid = the paper's 9×9 over m, s ∈ [0.8, 1.2], every point on all P prompts (81·P images);
fast = \`fastSearch\` with its default budget ⌊8.1·P⌋ images (${r.budget8} for P = 8, 8 whole evaluations for P = 1).
"Before" = the previous fast search (quadratic trust region, 8 whole evaluations = 8·P images; frozen copy in
bench/calibration/baseline) on the same landscapes.

**Result: met on ${met} of ${r.rows.length} landscapes (before: ${metBefore}); worst gap ${f2(worst.gapPercent)} % on ${worst.landscape}.
Tuning set: ${tMet} of ${r.tuning.length} (before: ${tMetBefore}).** Not met on: ${missed.map((x) => x.landscape).join(", ") || "none"}.

| group | landscapes | met (fast, racing) | met (before: 8 whole evaluations) | mean / worst gap % now | mean / worst gap % before |
|---|---|---|---|---|---|
${groups([...r.rows, ...r.tuning]).split("\n").slice(2).join("\n")}

## How it is judged
Each search picks by the values it observes (the fast search: the best JAQ over all P prompts among its finalists);
the pick is scored on the truth. Gap % = 100·(grid truth − fast truth)/grid truth; negative means the fast pick is
better on the truth than the grid's.
- **Recorded tables** (the truth is unknown, so the table is the objective; nearest-grid-point lookup, searches on
  the 0.05 lattice). The model card's tables (test/fixtures/landscapes) hold one JAQ per point, so a point is one
  indivisible evaluation (P = 1, budget 8 of 81). Ours (bench/calibration/landscapes, recorded by
  record-landscape.ts with our pipeline and GPU scorer) keep every image's CLIPScore pair value and CLIP-IQA, so the
  JAQ over the first n prompts is recomputed exactly as calibrate() does (ln of the mean CLIPScore + 2·mean
  CLIP-IQA over those images): partial evaluations are simulated exactly (P = 8, budget 64 of 648 images).
- **Synthetic landscapes** (bench/calibration/landscapes.ts), P = 8 prompts: prompt p scores f(m, s) + d_p +
  σ·√8·z(m, s, p), so the full-set mean has per-point noise σ (0, 0.03 or 0.07; seeds 1–5) and a subset of n prompts
  σ·√(8/n); the prompt offsets d_p (spread 0.5) are common to all candidates, as fixed seeds make them. Judged on
  the noise-free f.
- **Tuning set** (not the named shapes, not the recorded tables): random rotated bumps and random pairs of bumps,
  seeds ${r.tuningSeeds[0]}–${r.tuningSeeds[1]}, σ = 0.05. The constants ${JSON.stringify(r.tuningConstants)} were chosen
  there with bench/calibration/tune.ts.

## What the fast search does now
Racing with common random numbers: candidates are screened on the first ⌈P/4⌉ prompts (same prompts, same seeds for
every candidate, so prompt difficulty cancels), placed first by a space-filling design over the whole box and then
by a Gaussian-process surrogate's upper confidence bound (mean + 2.5·sd), so a narrow bump away from the first
probes is still looked at. About a third of the budget then scores finalists on all P prompts: the points with the
highest posterior mean over the whole lattice (smoothed, so one lucky screening draw does not decide). The answer
is the finalist with the best measured full-set JAQ. With P = 1 (model card tables) there is no screening level and
it is a plain GP-UCB search over 8 whole evaluations.

## Reading the numbers
- **Named synthetic shapes.** two-bumps, the old local method's miss, is now found on most seeds (the design and
  the exploration term see the narrow bump). The remaining synthetic misses are noise: at σ = 0.07 a full-set JAQ differs by ±0.07
  between neighbours while 1 % is 0.057, and the fast search's answer is, like the grid's, a best *observed* value.
  Picking by a pooled posterior mean instead was measured on the tuning set and did not help (it blurs the narrow
  bumps), so it is not the default (\`tuning.pick = "pooled"\` keeps it for the benchmark).
- **Recorded tables.** Their maxima are mostly per-point noise (bootstrap s.d. ≈ 0.31 JAQ per point of our tables
  vs 1 % ≈ 0.055): only a few points are within 1 % of each table's maximum, so meeting the target there means
  landing on one of those few points:

| recorded table | P | points within 1 % of the max | P(8 random distinct points include one) | fast pick's rank among the 81 | before |
|---|---|---|---|---|---|
${hit}

  For our two tables the per-image scores allow a direct check of how reachable the target is: ${r.replicatesCount} replicate
  tables, each from the same images with the 8 prompts resampled with replacement (a new prompt set from the same
  population: the table and its maximum move). How often each strategy's pick is within 1 % of its replicate's
  maximum:

| our table | fast (racing, 64 images) | before (8 whole evaluations) | best fixed point, 0 images |
|---|---|---|---|
${rep}

  The last column is the hit rate of the single point most often within 1 %, chosen with the replicates themselves
  (in-sample, so optimistic): what a strategy that knew the resampling distribution in advance would get without
  generating anything. It is a reference, not a bound on every strategy. No search here reaches the target on
  most replicates; on these tables the target is decided largely by which prompts were drawn.

  **Our tables are a regression on the recorded prompt order**: the racing pick is 6–7 % below the table maximum
  there (before: 1.5–2.7 %), ranks 27–28 of 81. Over the replicates the picture is mixed (one table better, one
  worse than before). The likely cause: real prompts interact with (m, s) — the first two prompts' landscape is not
  the full set's landscape shifted — while the synthetic prompt model (and so the tuning set) only has additive
  prompt offsets, so screening on ⌈P/4⌉ = 2 of 8 prompts looked safe in tuning and is not on these tables. Not
  fixed here: a tuning set with prompt × (m, s) interaction (and likely a larger screening share, or screening on
  a spread of prompts rather than the first ones) is the next step; the recorded tables must stay held out.

${table([...r.rows])}
`;
}

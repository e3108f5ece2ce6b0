/** RESULTS.md for the calibration-search benchmark (run.ts computes, this formats). */
import type { FastTuning } from "../../src/calibration/search/fast.ts";
import type { Row } from "./judge.ts";

export interface Report {
  date: string;
  rows: Array<Row & { group: string; before: Row; firstRacing: Row }>;
  tuning: Array<Row & { group: string; before: Row; firstRacing: Row }>;
  hitRows: Array<{ name: string; prompts: number; hits: number; random8: number; rank: number; rankBefore: number; rankFirstRacing: number }>;
  replicates: Array<{ name: string; fast: number; baseline: number; firstRacing: number; fixed: number; fixedPoint: string }>;
  tuningSeeds: [number, number];
  tuningConstants: Readonly<FastTuning>;
  budget8: number;
  replicatesCount: number;
  /** fastPlan(8, budget8) and the smallest P = 8 budget with a middle level. */
  plan8: { screenPrompts: number; screened: number; midPrompts: number; promoted: number; finalists: number };
  midFrom8: number;
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function groups(rows: Report["rows"]): string {
  const by = new Map<string, Report["rows"]>();
  for (const r of rows) by.set(r.group, [...(by.get(r.group) ?? []), r]);
  const lines = [
    "| group | landscapes | met now | met, first racing (74387fb) | met, before racing (8 whole evaluations) | mean / worst gap % now | first racing | before racing |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const gaps = (xs: number[]) => `${f2(mean(xs))} / ${f2(Math.max(...xs))}`;
  for (const [g, rs] of by) {
    lines.push(
      `| ${g} | ${rs.length} | ${rs.filter((r) => r.meetsTarget).length} | ${rs.filter((r) => r.firstRacing.meetsTarget).length} | ${rs.filter((r) => r.before.meetsTarget).length} | ${gaps(rs.map((r) => r.gapPercent))} | ${gaps(rs.map((r) => r.firstRacing.gapPercent))} | ${gaps(rs.map((r) => r.before.gapPercent))} |`,
    );
  }
  return lines.join("\n");
}

function table(rows: Report["rows"]): string {
  const lines = [
    "| landscape | P | grid pick (m, s) | grid JAQ | fast pick (m, s) | fast JAQ | gap % | images fast / grid | target | first racing: pick, gap % | before racing: pick, gap % |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.landscape} | ${r.prompts} | (${f2(r.grid.m)}, ${f2(r.grid.s)}) | ${f3(r.grid.truth)} | (${f2(r.fast.m)}, ${f2(r.fast.s)}) | ${f3(r.fast.truth)} | ${f2(r.gapPercent)} | ${r.fast.generations} / ${r.grid.generations} | ${r.meetsTarget ? "met" : "**missed**"} | (${f2(r.firstRacing.fast.m)}, ${f2(r.firstRacing.fast.s)}) ${f2(r.firstRacing.gapPercent)} | (${f2(r.before.fast.m)}, ${f2(r.before.fast.s)}) ${f2(r.before.gapPercent)} |`,
    );
  }
  return lines.join("\n");
}

export function resultsMarkdown(r: Report): string {
  const met = r.rows.filter((x) => x.meetsTarget).length;
  const metBefore = r.rows.filter((x) => x.before.meetsTarget).length;
  const metFirst = r.rows.filter((x) => x.firstRacing.meetsTarget).length;
  const missed = r.rows.filter((x) => !x.meetsTarget);
  const tMet = r.tuning.filter((x) => x.meetsTarget).length;
  const tMetBefore = r.tuning.filter((x) => x.before.meetsTarget).length;
  const tMetFirst = r.tuning.filter((x) => x.firstRacing.meetsTarget).length;
  const worst = r.rows.reduce((a, x) => (x.gapPercent > a.gapPercent ? x : a));
  const hit = r.hitRows.map((h) => `| ${h.name} | ${h.prompts} | ${h.hits} of 81 | ${pct(h.random8)} | ${h.rank} | ${h.rankFirstRacing} | ${h.rankBefore} |`).join("\n");
  const rep = r.replicates.map((x) => `| ${x.name} | ${pct(x.fast)} | ${pct(x.firstRacing)} | ${pct(x.baseline)} | ${pct(x.fixed)} (${x.fixedPoint}) |`).join("\n");
  const ours = r.rows.filter((x) => x.landscape.startsWith("ours_"));
  const oursLine = ours
    .map((x) => {
      const h = r.hitRows.find((y) => y.name === x.landscape)!;
      return `${x.landscape}: gap ${f2(x.gapPercent)} % (rank ${h.rank}), first racing ${f2(x.firstRacing.gapPercent)} % (rank ${h.rankFirstRacing}), before racing ${f2(x.before.gapPercent)} % (rank ${h.rankBefore})`;
    })
    .join("; ");
  const tuned = r.tuning.filter((x) => x.group.startsWith("tuning: recorded"));
  const interact = r.rows.filter((x) => x.group.includes("× prompts"));
  const c = r.tuningConstants;
  return `# Calibration search benchmark

Generated ${r.date} by \`npm run bench:calibration\` (\`npx vite-node bench/calibration/run.ts\`; CPU only, deterministic:
same numbers every run).

**Target** (issue 9, part 3): the fast search's pick is within ${"1 %"} of the grid's best JAQ using ≤ 10 % of the grid's
generations (images). Grid = the paper's 9×9 over m, s ∈ [0.8, 1.2], every point on all P prompts (81·P images);
fast = \`fastSearch\` with its default budget ⌊8.1·P⌋ images (${r.budget8} for P = 8, 8 whole evaluations for P = 1).
Compared on the same landscapes: "first racing" = the racing search as first committed (74387fb: screening on ⌈P/4⌉
prompts, finalists straight from the screening surrogate; the current code with those settings), "before racing" =
the quadratic trust region with 8 whole evaluations = 8·P images (frozen copy in bench/calibration/baseline).

**Result: met on ${met} of ${r.rows.length} landscapes (first racing: ${metFirst}, before racing: ${metBefore}); worst gap ${f2(worst.gapPercent)} % on ${worst.landscape}.
Tuning set: ${tMet} of ${r.tuning.length} (first racing: ${tMetFirst}, before racing: ${tMetBefore}).** Not met on: ${missed.map((x) => x.landscape).join(", ") || "none"}.

| group | landscapes | met now | met, first racing (74387fb) | met, before racing (8 whole evaluations) | mean / worst gap % now | first racing | before racing |
|---|---|---|---|---|---|---|---|
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
  CLIP-IQA over those images): partial evaluations are simulated exactly (P = 8: budget 64 of 648 images; P = 25,
  the built-in prompt set calibrate uses by default: 202 of 2025). These are **held out**: no constant was chosen on them.
- **Synthetic landscapes** (bench/calibration/landscapes.ts), P = 8 prompts: prompt p scores f(m, s) + d_p +
  σ·√8·z(m, s, p), so the full-set mean has per-point noise σ (0, 0.03 or 0.07; seeds 1–5) and a subset of n prompts
  σ·√(8/n); the prompt offsets d_p (spread 0.5) are common to all candidates, as fixed seeds make them. Judged on
  the noise-free f.
- **Synthetic × prompts** (held out: the named shapes, seeds 1–5): prompt p sees the shape moved and scaled,
  d_p + f̄ + κ_p·(f(m − δm_p, s − δs_p) − f̄) with its own optimum offset δ ~ N(0, 0.06²) per axis and curvature
  κ_p = exp(0.35·N(0, 1)), plus the per-image noise above. Judged on the noise-free mean over the 8 prompts. The
  strength matches the recorded tuning table (bench/calibration/interaction-stats.ts: a prompt's landscape departs
  from the set's by 0.93× the set's own relief there, neighbour correlation 0.46; this model at σ = 0.05: 1.04–1.05
  and 0.51–0.56). Here a few prompts can rank candidates unlike the whole set, which additive offsets cannot show.
- **Tuning set** (neither the named shapes nor the held-out tables): random rotated bumps and random pairs of bumps
  with additive prompts (seeds ${r.tuningSeeds[0]}–${r.tuningSeeds[1]}, σ = 0.05), the same families × prompts (seeds 200–239), and a table
  recorded with our pipeline like the held-out ones but on 8 other built-in prompts (9–16; bench/calibration/
  landscapes-tuning, W4A8 torchao policy, 4 steps, guidance 2), as recorded plus 30 prompt resamples. The constants
  ${JSON.stringify(c)} were chosen there with bench/calibration/tune.ts.

## What the fast search does now
Racing with common random numbers and successive halving. With P = 8 and ${r.budget8} images: ${r.plan8.screened} candidates are screened on
the first ${r.plan8.screenPrompts} prompts (same prompts, same seeds for every candidate, so prompt difficulty cancels), placed first by a
space-filling design over the whole box and then by a Gaussian-process surrogate's upper confidence bound
(mean + ${c.exploration}·sd); the ${r.plan8.promoted} with the best posterior mean, at least ${c.finalistSpacing} apart in normalised units (the box is 2
wide), are extended to ${r.plan8.midPrompts} prompts; the best ${r.plan8.finalists} of those on ${r.plan8.midPrompts} prompts are scored on all 8, and the best measured
full-set JAQ is the answer. Budgets below ${r.midFrom8} images (P = 8) skip the middle level: finalists then come straight from
the screening surrogate, as in the first racing search.
With P = 1 (model card tables) there is no screening level and it is a plain GP-UCB search over 8 whole evaluations.

**Why the middle level.** The first racing search chose its finalists from 2 of 8 prompts. Real prompts interact
with (m, s), so 2 prompts can prefer another region than all 8; on the recorded tuning table it met the target on
${tuned.filter((x) => x.firstRacing.meetsTarget).length} of ${tuned.length} (as recorded + resamples), the current search on ${tuned.filter((x) => x.meetsTarget).length}, before racing ${tuned.filter((x) => x.before.meetsTarget).length}.
Measured with tune.ts: screening on more prompts (3 or 4 of 8) instead helped the synthetic × prompts families but
not the recorded tuning table (8–13 of 31); spreading finalists alone did little (12 of 31). The recorded tuning
table is one model and one set of images: its 31 variants share those images, and neighbouring settings of the
middle level (promoting 10–12 candidates instead of 8–9, or a finalist share of 0.35 instead of 0.3) gave 15–17 of
31, so the constants are a reasonable choice on it, not a sharp optimum.

**Tried on the tuning set and dropped (session 15): a surrogate with its own length scale across s = m.** The
recorded tables have a ridge along s ≈ m, and the named ridge is missed on one seed, so the Gaussian process was
given a squared-exponential kernel on the rotated axes (along and across the diagonal), with the two length scales
chosen by marginal likelihood like the one before. Tuning set, met of 322: isotropic (now) 275; free pair of scales
265; across = along × {1, 0.5} 268, × {1, 0.7} 260, × {1, 0.5, 2} 272, × 0.6 264. Every variant lost most on the
recorded P = 8 tuning table (12–17 of 31, against 24): with 18 screened points the extra freedom fits noise.

## Reading the numbers
- **Held-out tables recorded with our engine**: ${oursLine}. Met by the current search on
  ${ours.filter((x) => x.meetsTarget).length} of ${ours.length}, by the search before racing on ${ours.filter((x) => x.before.meetsTarget).length}. The P = 25 tables
  (the 25 built-in prompts calibrate uses by default; recorded 2026-11-26) are smoother than the P = 8 ones: a ridge
  along s ≈ m (to m − 0.05) with 3–6 points within 1 % of the maximum. On them the local search before racing, which scores
  every candidate on all prompts, is ahead. Over
  prompt resamples (below): ${r.replicates.map((x) => `${x.name} ${pct(x.fast)} now, ${pct(x.firstRacing)} first racing, ${pct(x.baseline)} before racing`).join("; ")}.
- **Synthetic × prompts** (held out): ${interact.filter((x) => x.meetsTarget).length} of ${interact.length} met (first racing ${interact.filter((x) => x.firstRacing.meetsTarget).length}, before racing ${interact.filter((x) => x.before.meetsTarget).length}). Before racing
  scores every candidate on all prompts, so interaction cannot mislead it; it loses elsewhere (narrow bumps).
- **Named synthetic shapes.** two-bumps, the old local method's miss, is found on most seeds (the design and
  the exploration term see the narrow bump). The remaining synthetic misses are noise: at σ = 0.07 a full-set JAQ
  differs by ±0.07 between neighbours while 1 % is 0.057, and the fast search's answer is, like the grid's, a best
  *observed* value. The middle level costs a little here (fewer candidates reach all 8 prompts than first racing's
  finalists), which the table above shows per group.
- **Recorded tables.** Their maxima are mostly per-point noise (bootstrap s.d. ≈ 0.31 JAQ per point of our tables
  vs 1 % ≈ 0.055): only a few points are within 1 % of each table's maximum, so meeting the target there means
  landing on one of those few points:

| recorded table | P | points within 1 % of the max | P(8 random distinct points include one) | fast pick's rank among the 81 | first racing | before racing |
|---|---|---|---|---|---|---|
${hit}

  For our tables the per-image scores allow a direct check of how reachable the target is: ${r.replicatesCount} replicate
  tables, each from the same images with the P prompts resampled with replacement (a new prompt set from the same
  population: the table and its maximum move). How often each strategy's pick is within 1 % of its replicate's
  maximum:

| our table | now (⌊8.1·P⌋ images) | first racing (same budget) | before racing (8 whole evaluations) | best fixed point, 0 images |
|---|---|---|---|---|
${rep}

  The last column is the hit rate of the single point most often within 1 %, chosen with the replicates themselves
  (in-sample, so optimistic): what a strategy that knew the resampling distribution in advance would get without
  generating anything. It is a reference, not a bound on every strategy. No search here reaches the target on
  most replicates; on these tables the target is decided largely by which prompts were drawn.

${table([...r.rows])}
`;
}

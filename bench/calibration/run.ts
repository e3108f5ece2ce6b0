/**
 * Calibration-search benchmark (not a test): grid (9×9 = 81 evaluations) vs the default fast search (budget 8) on
 * the three recorded toy-shapes JAQ tables and on synthetic landscapes with known optima, noise-free and noisy.
 * Run: `npx vite-node bench/calibration/run.ts`. Prints the table, writes bench/calibration/results/<date>.json and
 * bench/calibration/RESULTS.md.
 *
 * Judging: each search picks the best point by the values it observes (noisy for noisy landscapes); the pick is then
 * scored on the noise-free truth. Gap % = 100·(grid truth − fast truth) / grid truth (negative: fast did better).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fastSearch, FAST_DEFAULT_BUDGET } from "../../src/calibration/search/fast.ts";
import { gridSearch } from "../../src/calibration/search/grid.ts";
import { bootstrapIndices, setScores } from "../qsched/stats.ts";
import { loadRecordedLandscapes, randomBumpLandscape, SYNTHETIC_SHAPES, syntheticLandscape, type BenchLandscape } from "./landscapes.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const GRID_N = 9;
/** Target: within 1 % of the grid's JAQ using at most 10 % of its evaluations. */
const TARGET_GAP_PERCENT = 1;
const TARGET_EVAL_FRACTION = 0.1;
/** Noise levels: 0.03 ≈ a few images' worth of scoring noise; 0.07 ≈ the point-to-point jitter of the recorded tables. */
const NOISE_SIGMAS = [0.03, 0.07];
const NOISE_SEEDS = [1, 2, 3, 4, 5];
/** The random bumps the fast search's starting design was chosen on (a tuning set, summarised separately). */
const TUNING_SEEDS = Array.from({ length: 60 }, (_, i) => 100 + i);

interface Row {
  landscape: string;
  kind: string;
  noiseSigma: number;
  grid: { m: number; s: number; observed: number; truth: number; evaluations: number };
  fast: { m: number; s: number; observed: number; truth: number; evaluations: number };
  gapPercent: number;
  meetsTarget: boolean;
}

async function benchOne(l: BenchLandscape): Promise<Row> {
  const objective = async (m: number, s: number) => l.observe(m, s);
  const grid = await gridSearch(objective, { n: GRID_N });
  const fast = await fastSearch(objective, { budget: FAST_DEFAULT_BUDGET, resolution: l.resolution });
  const gridTruth = l.truth(grid.best.m, grid.best.s);
  const fastTruth = l.truth(fast.best.m, fast.best.s);
  const gapPercent = (100 * (gridTruth - fastTruth)) / Math.abs(gridTruth);
  return {
    landscape: l.name,
    kind: l.kind,
    noiseSigma: l.noiseSigma,
    grid: { ...grid.best, observed: grid.best.score, truth: gridTruth, evaluations: grid.evaluations.length },
    fast: { ...fast.best, observed: fast.best.score, truth: fastTruth, evaluations: fast.evaluations.length },
    gapPercent,
    meetsTarget: gapPercent <= TARGET_GAP_PERCENT && fast.evaluations.length <= TARGET_EVAL_FRACTION * grid.evaluations.length,
  };
}

const f3 = (x: number) => x.toFixed(3);
function formatTable(rows: readonly Row[]): string {
  const lines = [
    "| landscape | grid pick (m, s) | grid JAQ | fast pick (m, s) | fast JAQ | gap % | evals fast / grid | target |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.landscape} | (${r.grid.m.toFixed(2)}, ${r.grid.s.toFixed(2)}) | ${f3(r.grid.truth)} | (${r.fast.m.toFixed(2)}, ${r.fast.s.toFixed(2)}) | ${f3(r.fast.truth)} | ${r.gapPercent.toFixed(2)} | ${r.fast.evaluations} / ${r.grid.evaluations} | ${r.meetsTarget ? "met" : "**missed**"} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  // The model card's PyTorch tables, then ours (bench/calibration/record-landscape.ts: our pipeline and GPU scorer).
  const landscapes: BenchLandscape[] = [...loadRecordedLandscapes(join(ROOT, "test", "fixtures", "landscapes")), ...loadRecordedLandscapes(join(HERE, "landscapes"))];
  for (const shape of Object.keys(SYNTHETIC_SHAPES)) {
    landscapes.push(syntheticLandscape(shape, 0, 0));
    for (const sigma of NOISE_SIGMAS) for (const seed of NOISE_SEEDS) landscapes.push(syntheticLandscape(shape, sigma, seed));
  }
  const rows: Row[] = [];
  for (const l of landscapes) rows.push(await benchOne(l));
  const tuningRows: Row[] = [];
  for (const seed of TUNING_SEEDS) tuningRows.push({ ...(await benchOne(randomBumpLandscape(seed))), kind: "tuning" });
  // Check on the lattice choice for recorded tables: the same search on a 0.01 lattice (nearest-grid lookup).
  const fineLattice: string[] = [];
  for (const l of landscapes.filter((x) => x.kind === "recorded")) {
    const r = await fastSearch(async (m, s) => l.observe(m, s), { budget: FAST_DEFAULT_BUDGET, resolution: 0.01 });
    fineLattice.push(`${l.name}: (${r.best.m.toFixed(2)}, ${r.best.s.toFixed(2)}) JAQ ${r.best.score.toFixed(3)}`);
  }
  const table = formatTable(rows);
  const met = rows.filter((r) => r.meetsTarget).length;
  const worst = rows.reduce((a, r) => (r.gapPercent > a.gapPercent ? r : a));
  const tuningMet = tuningRows.filter((r) => r.meetsTarget).length;
  const tuningSummary = `tuning set (random bumps, not in the table): target met on ${tuningMet} of ${tuningRows.length}; worst gap ${Math.max(...tuningRows.map((r) => r.gapPercent)).toFixed(2)} %`;
  const summary = `target (gap ≤ ${TARGET_GAP_PERCENT} %, ≤ ${TARGET_EVAL_FRACTION * 100} % of ${GRID_N * GRID_N} evaluations) met on ${met} of ${rows.length} landscapes; worst gap ${worst.gapPercent.toFixed(2)} % on ${worst.landscape}`;
  console.log(table);
  console.log(summary);
  console.log(tuningSummary);
  const date = new Date().toISOString();
  mkdirSync(join(HERE, "results"), { recursive: true });
  const jsonPath = join(HERE, "results", `calibration-search-${date.slice(0, 10)}.json`);
  writeFileSync(jsonPath, JSON.stringify({ date, gridN: GRID_N, fastBudget: FAST_DEFAULT_BUDGET, summary, tuningSummary, rows, tuningRows }, null, 2) + "\n");
  const noise = perImageNoise(join(HERE, "landscapes"));
  writeFileSync(join(HERE, "RESULTS.md"), resultsMarkdown(date, table, `${summary}\n\n${tuningSummary}`, [...rows, ...tuningRows], `${recordedHitSets(landscapes, rows)}\n\n${noise}`, fineLattice));
  console.error(`wrote ${jsonPath} and ${join(HERE, "RESULTS.md")}`);
}

/** Probability that k distinct points drawn at random from n include at least one of h "hits". */
function randomHitProbability(n: number, h: number, k: number): number {
  let miss = 1;
  for (let i = 0; i < k; i++) miss *= (n - h - i) / (n - i);
  return 1 - Math.max(0, miss);
}

/**
 * How noisy one grid point of our recorded tables is: the bootstrap standard deviation of its JAQ over its own
 * images (resampling the 8 prompt images with replacement, seeded), against the 1 % target in JAQ units.
 */
function perImageNoise(folder: string): string {
  const lines = ["| our table | median per-point JAQ s.d. (bootstrap over its images) | 1 % of the grid max | (1, 1) | grid max |", "|---|---|---|---|---|"];
  for (const f of readdirSync(folder).filter((x) => x.endsWith(".json")).sort()) {
    const d = JSON.parse(readFileSync(join(folder, f), "utf8")) as { jaq: number[][]; per_image: { clip_score_pair: number[][][]; clip_iqa: number[][][] } };
    const sds: number[] = [];
    d.per_image.clip_score_pair.forEach((row, i) =>
      row.forEach((pair, j) => {
        const scores = { pair, iqa: d.per_image.clip_iqa[i]![j]! };
        const vals = bootstrapIndices(pair.length, 12345, 300).map((idx) => setScores(scores, idx).jaq);
        const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
        // A resample whose mean CLIPScore clamps to 0 has JAQ −∞ (failed); such points have no finite spread.
        const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mu) ** 2, 0) / vals.length);
        if (Number.isFinite(sd)) sds.push(sd);
      }),
    );
    sds.sort((a, b) => a - b);
    const max = Math.max(...d.jaq.flat());
    lines.push(`| ${f.replace(/\.json$/, "")} | ${sds[Math.floor(sds.length / 2)]!.toFixed(3)} | ${(max * 0.01).toFixed(3)} | ${d.jaq[4]![4]!.toFixed(3)} | ${max.toFixed(3)} |`);
  }
  return `  Our own tables (\`bench/calibration/record-landscape.ts\`: our pipeline and GPU scorer, 8 calibration prompts, one image each)
  keep every image's scores, which measures the noise directly: one point's JAQ varies by several times the 1 % target
  between resamples of its own 8 images, so their maxima, too, are mostly selection noise:

${lines.join("\n")}`;
}

/** For each recorded table: how many of its 81 points are within 1 % of its maximum (the target's hit set). */
function recordedHitSets(landscapes: readonly BenchLandscape[], rows: readonly Row[]): string {
  const lines = [
    "| recorded table | points within 1 % of the grid max | P(8 random distinct points include one) | fast pick's rank among the 81 |",
    "|---|---|---|---|",
  ];
  for (const l of landscapes.filter((x) => x.kind === "recorded")) {
    const values: number[] = [];
    for (let i = 0; i < GRID_N; i++) for (let j = 0; j < GRID_N; j++) values.push(l.truth(0.8 + 0.05 * i, 0.8 + 0.05 * j));
    const max = Math.max(...values);
    const hits = values.filter((v) => v >= max * (1 - TARGET_GAP_PERCENT / 100)).length;
    const fastTruth = rows.find((r) => r.landscape === l.name)!.fast.truth;
    const rank = 1 + values.filter((v) => v > fastTruth).length;
    lines.push(`| ${l.name} | ${hits} of ${values.length} | ${(100 * randomHitProbability(values.length, hits, FAST_DEFAULT_BUDGET)).toFixed(0)} % | ${rank} |`);
  }
  return lines.join("\n");
}

function resultsMarkdown(date: string, table: string, summary: string, rows: readonly Row[], hitSets: string, fineLattice: readonly string[]): string {
  const byGroup = new Map<string, Row[]>();
  for (const r of rows) {
    const g = r.kind === "recorded" ? (r.landscape.startsWith("ours_") ? "toy tables recorded with our engine" : "recorded toy tables (model card)") : r.kind === "tuning" ? "random bumps σ = 0.05 (tuning set)" : `named synthetic, σ = ${r.noiseSigma}`;
    byGroup.set(g, [...(byGroup.get(g) ?? []), r]);
  }
  const groupLines = [...byGroup].map(([g, rs]) => {
    const gaps = rs.map((r) => r.gapPercent);
    return `| ${g} | ${rs.length} | ${rs.filter((r) => r.meetsTarget).length} | ${(gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(2)} | ${Math.max(...gaps).toFixed(2)} |`;
  });
  return `# Calibration search benchmark

Generated ${date} by \`npx vite-node bench/calibration/run.ts\` (CPU only, deterministic: same numbers every run).
Grid = the paper's 9×9 over m, s ∈ [0.8, 1.2] (81 evaluations); fast = \`fastSearch\` with budget 8 (≤ 10 %).

How it is judged: each search picks its best point by the values it observes; the pick is scored on the noise-free
truth. Recorded toy tables: the table *is* the objective (nearest-grid-point lookup; the fast search runs on a
0.05 lattice there, so every candidate is a recorded point). Synthetic landscapes: continuous functions
(bench/calibration/landscapes.ts) with known optima, the fast search on a 0.01 lattice, plus deterministic
per-point Gaussian noise of σ 0.03 or 0.07 (seeds 1–5). Gap % = 100·(grid JAQ − fast JAQ)/grid JAQ; negative
means the fast search's pick is better on the truth.

${summary}

| group | landscapes | target met | mean gap % | worst gap % |
|---|---|---|---|---|
${groupLines.join("\n")}

## Reading the numbers
The target (within 1 % of the grid's best JAQ with ≤ 8 of 81 evaluations) is **not met on every landscape**.
- **Recorded toy tables.** Their maxima sit on point-to-point jitter of about ±0.1 JAQ (8–16 images per point);
  the toy README's transfer check shows the grid's winners do not beat (1, 1) on other seeds. Only a handful of
  the 81 points are within 1 % of each table's maximum, so meeting the target there means hitting one of those
  few spikes with 8 probes:

${hitSets}

  On a 0.01 lattice instead of 0.05 (candidates between recorded points take the nearest one's value) the picks
  are ${fineLattice.join("; ")}.
  Any 8-evaluation method is partly a lottery on these tables; the last column shows where the fast search's picks
  rank in each table. A calibration that must generalise needs more images per candidate,
  not more candidates: budget the saved 73 evaluations into prompts/seeds instead.
- **Named synthetic shapes.** Noise-free bowls, ridges, corners and the cliff shape are found within 1 % (except
  two-bumps, where 8 probes see the wider, lower bump first and refine it: a local method's known failure on a
  narrow global optimum). With noise, some misses are the fast search's selection noise (it, like the grid, picks
  its best *observed* value), and some negative gaps are the grid's selection noise.
- **Tuning set.** The starting pentagon's radius and angle were chosen on 60 random bumps (seeds 100–159), not on
  the named shapes or the recorded tables, which therefore act as held-out checks.

${table}
`;
}

await main();

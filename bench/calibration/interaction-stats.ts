/**
 * How strongly prompts interact with (m, s), on the recorded tuning tables and on the synthetic families (not part of
 * bench:calibration; used to set DEFAULT_INTERACTION in landscapes.ts). For each prompt p, its landscape y_p over the
 * 9×9 grid (recorded: ln(max(pair, 1)) + 2·CLIP-IQA of its one image; synthetic: its own term of the prompt mean);
 * residual r_p = y_p − mean over prompts − r_p's own mean over the grid (the additive prompt offset removed).
 * Printed: sd(r) / sd(mean landscape) (how much one prompt's landscape departs from the set's, relative to the
 * set's own relief) and the correlation of r between grid neighbours (smooth interaction ≈ 1, white noise ≈ 0).
 * The held-out tables (landscapes/, test/fixtures) are never read here.
 * Run: npx vite-node bench/calibration/interaction-stats.ts
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { interactingLandscape, TUNING_TABLE_FOLDER, type BenchLandscape, type RecordedLandscapeFile } from "./landscapes.ts";

const AXIS = Array.from({ length: 9 }, (_, i) => Number((0.8 + 0.05 * i).toFixed(2)));

function stats(y: number[][][]): { ratio: number; neighbour: number } {
  // y[p][i][j]
  const P = y.length;
  const mean = AXIS.map((_, i) => AXIS.map((_, j) => y.reduce((a, yp) => a + yp[i]![j]!, 0) / P));
  const flat = mean.flat();
  const mu = flat.reduce((a, b) => a + b, 0) / flat.length;
  const sdMean = Math.sqrt(flat.reduce((a, b) => a + (b - mu) ** 2, 0) / flat.length);
  const r = y.map((yp) => {
    const d = yp.map((row, i) => row.map((v, j) => v - mean[i]![j]!));
    const off = d.flat().reduce((a, b) => a + b, 0) / 81;
    return d.map((row) => row.map((v) => v - off));
  });
  const all = r.flat(2);
  const sdR = Math.sqrt(all.reduce((a, b) => a + b * b, 0) / all.length);
  let num = 0;
  let cnt = 0;
  for (const rp of r) {
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 9; j++) {
        if (i < 8) (num += rp[i]![j]! * rp[i + 1]![j]!), cnt++;
        if (j < 8) (num += rp[i]![j]! * rp[i]![j + 1]!), cnt++;
      }
    }
  }
  return { ratio: sdR / sdMean, neighbour: num / cnt / sdR ** 2 };
}

function synthetic(l: BenchLandscape): number[][][] {
  return Array.from({ length: l.prompts }, (_, p) => AXIS.map((m) => AXIS.map((s) => (p + 1) * l.observe(m, s, p + 1) - p * (p === 0 ? 0 : l.observe(m, s, p)))));
}

const fmt = (x: { ratio: number; neighbour: number }) => `sd ratio ${x.ratio.toFixed(2)}, neighbour corr ${x.neighbour.toFixed(2)}`;

for (const f of (existsSync(TUNING_TABLE_FOLDER) ? readdirSync(TUNING_TABLE_FOLDER) : []).filter((x) => x.endsWith(".json")).sort()) {
  const file = JSON.parse(readFileSync(join(TUNING_TABLE_FOLDER, f), "utf8")) as RecordedLandscapeFile;
  const per = file.per_image!;
  const P = per.clip_score_pair[0]![0]!.length;
  const y = Array.from({ length: P }, (_, p) => AXIS.map((_, i) => AXIS.map((_, j) => Math.log(Math.max(per.clip_score_pair[i]![j]![p]!, 1)) + 2 * per.clip_iqa[i]![j]![p]!)));
  console.log(`recorded ${f}: ${fmt(stats(y))}`);
}
const bump = (m: number, s: number) => 4.8 + 0.9 * Math.exp(-((m - 1) ** 2 + (s - 0.95) ** 2) / (2 * 0.12 ** 2));
const dome = (m: number, s: number) => 5.6 - 8 * ((m - 1) ** 2 + (s - 0.95) ** 2);
for (const sigma of [0, 0.05]) {
  for (const [shift, curvature] of [
    [0, 0],
    [0.06, 0.35],
    [0.1, 0.5],
    [0.15, 0.7],
  ] as const) {
    const avg = (f: (m: number, s: number) => number) => {
      const ss = [1, 2, 3, 4, 5].map((seed) => stats(synthetic(interactingLandscape("x", f, sigma, seed, { shift, curvature }))));
      return { ratio: ss.reduce((a, x) => a + x.ratio, 0) / ss.length, neighbour: ss.reduce((a, x) => a + x.neighbour, 0) / ss.length };
    };
    console.log(`synthetic σ=${sigma} shift ${shift} curvature ${curvature}: bump ${fmt(avg(bump))}; dome ${fmt(avg(dome))}`);
  }
}

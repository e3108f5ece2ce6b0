/**
 * Tuning sweep for the fast search (not part of bench:calibration): runs candidate settings on the tuning set only
 * (random bumps and two-bumps with additive prompts, seeds 100–159; the same families with prompt × (m, s)
 * interaction, seeds 200–239; the recorded tuning tables in landscapes-tuning/ and their prompt resamples) and prints
 * met / mean gap / worst gap per group and setting. The named shapes and the held-out recorded tables
 * (landscapes/, test/fixtures/landscapes) are never loaded here, so they stay held-out checks.
 * Run: npx vite-node bench/calibration/tune.ts '[{"screenFraction":0.5}, …]'  (optional group filter: TUNE_GROUP=text)
 */
import type { FastTuning } from "../../src/calibration/search/fast.ts";
import { fastPick, gridPick, judge, type Pick, type Row } from "./judge.ts";
import { tuningLandscapes } from "./landscapes.ts";

async function main(): Promise<void> {
  const filter = process.env.TUNE_GROUP;
  const ls = tuningLandscapes().filter((t) => !filter || t.group.includes(filter));
  const grids: Pick[] = [];
  for (const t of ls) grids.push(await gridPick(t.landscape));
  // vite-node passes the arguments after the script name.
  const settings: Array<Partial<FastTuning>> = JSON.parse(process.argv.at(-1)?.startsWith("[") ? process.argv.at(-1)! : "[{}]");
  for (const t of settings) {
    const t0 = Date.now();
    const rows: Array<Row & { group: string }> = [];
    for (const [i, l] of ls.entries()) rows.push({ ...judge(l.landscape, grids[i]!, await fastPick(l.landscape, t)), group: l.group });
    const parts = [...new Set(rows.map((r) => r.group))].map((g) => {
      const rs = rows.filter((r) => r.group === g);
      const gaps = rs.map((r) => r.gapPercent);
      return `${g.replace("tuning: ", "").slice(0, 28)}: ${rs.filter((r) => r.meetsTarget).length}/${rs.length} mean ${(gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(2)} worst ${Math.max(...gaps).toFixed(2)}`;
    });
    const met = rows.filter((r) => r.meetsTarget).length;
    console.log(`${JSON.stringify(t)}  total ${met}/${rows.length}\n    ${parts.join("\n    ")}  (${Date.now() - t0} ms)`);
  }
}

await main();

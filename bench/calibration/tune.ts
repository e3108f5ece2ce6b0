/**
 * Tuning sweep for the fast search (not part of bench:calibration): runs candidate settings on the tuning set only
 * (random bumps and random two-bump landscapes, seeds 100–159) and prints met / mean gap / worst gap per setting.
 * The named shapes and recorded tables are never loaded here, so they stay held-out checks.
 * Run: npx vite-node bench/calibration/tune.ts
 */
import type { FastTuning } from "../../src/calibration/search/fast.ts";
import { fastPick, gridPick, judge, type Pick, type Row } from "./judge.ts";
import { tuningLandscapes } from "./landscapes.ts";

async function main(): Promise<void> {
  const ls = tuningLandscapes();
  const grids: Pick[] = [];
  for (const l of ls) grids.push(await gridPick(l));
  // vite-node passes the arguments after the script name.
  const settings: Array<Partial<FastTuning>> = JSON.parse(process.argv.at(-1)?.startsWith("[") ? process.argv.at(-1)! : "[{}]");
  for (const t of settings) {
    const t0 = Date.now();
    const rows: Row[] = [];
    for (const [i, l] of ls.entries()) rows.push(judge(l, grids[i]!, await fastPick(l, t)));
    const part = (kind: string) => {
      const rs = rows.filter((r) => r.landscape.startsWith(kind));
      const gaps = rs.map((r) => r.gapPercent);
      return `${kind}: met ${rs.filter((r) => r.meetsTarget).length}/${rs.length} mean ${(gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(2)} worst ${Math.max(...gaps).toFixed(2)}`;
    };
    console.log(`${JSON.stringify(t)}  ${part("random bump")}  |  ${part("random two-bump")}  (${Date.now() - t0} ms)`);
  }
}

await main();

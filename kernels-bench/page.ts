/**
 * The browser half of the kernel bench: measures the adapter's peaks and runs our ops over the same
 * case list (no peers here), leaving the rows in `window.__benchResults` for browser.ts.
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { runBench, scoreAgainst } from "./bench.ts";
import { FULL_CASES, QUICK_CASES } from "./cases.ts";
import type { PageResults } from "./browser.ts";
import { FULL_PROBE, PROBE_FILES, QUICK_PROBE, measurePeaks } from "./probes.ts";
import { FULL_TIMING, QUICK_TIMING } from "./timing.ts";

const results: PageResults = { adapter: "", rows: [], done: false };
(window as unknown as { __benchResults: PageResults }).__benchResults = results;

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const quick = params.has("quick");
  const only = params.get("only")?.split(",");
  const cases = (quick ? QUICK_CASES : FULL_CASES).filter((c) => !only || only.some((o) => c.id.includes(o)));
  const timing = quick ? QUICK_TIMING : FULL_TIMING;
  const gpu = await Gpu.create();
  results.adapter = gpu.ctx.describe();
  const shaders: Record<string, string> = {};
  for (const f of PROBE_FILES) {
    const r = await fetch(`/kernels-bench/shaders/${f}`);
    if (!r.ok) throw new Error(`GET kernels-bench/shaders/${f}: ${r.status}`);
    shaders[f] = await r.text();
  }
  const probe = quick ? QUICK_PROBE : FULL_PROBE;
  const before = await measurePeaks(gpu, shaders, probe, timing);
  console.log(`peaks: FMA ${before.fmaGflops.toFixed(1)} GFLOP/s, copy ${before.copyGBs.toFixed(2)} GB/s`);
  const rows = await runBench(gpu, cases, before, {
    timing,
    peers: [],
    onRow: (r) => console.log(`${r.id} ${r.dtype}: ${r.status === "ok" ? `${r.us!.toFixed(0)} µs` : r.status}`),
  });
  // As in run.ts: the best of the probes before and after the cases.
  const after = await measurePeaks(gpu, shaders, probe, timing);
  results.peaks = { fmaGflops: Math.max(before.fmaGflops, after.fmaGflops), copyGBs: Math.max(before.copyGBs, after.copyGBs) };
  scoreAgainst(rows, results.peaks);
  results.rows = rows;
}

main().then(
  () => (results.done = true),
  (e) => {
    results.error = (e as Error).stack ?? String(e);
    results.done = true;
  },
);

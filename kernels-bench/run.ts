/**
 * `node dist/bench/run.js [--quick] [--no-browser] [--no-peers] [--only=<id substring>,…] [--wall-only] [--reps=N]`
 * (--reps=N: N calls per timed run and one sync, times per call; a GPU's ~0.4 ms sync floor otherwise hides its kernels)
 * (--wall-only: our runs without timestamp queries, so their wall time is what a user's call costs)
 * Runs the kernel bench on Dawn in Node (our ops, tfjs, ORT), then our ops on SwiftShader in headless
 * Chromium (kernels-bench/page.ts), prints the tables and the target checks, writes
 * kernels-bench/results/<adapter>-<date>.json, and prints one JSON line of ratios to the best peer last.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Gpu } from "../src/gpu/runtime.ts";
import { hasPackedIntegerDot } from "../src/ops/quant-features.ts";
import { runBench, scoreAgainst, type Peer, type Row } from "./bench.ts";
import { FULL_CASES, QUICK_CASES } from "./cases.ts";
import { FULL_PROBE, PROBE_FILES, QUICK_PROBE, measurePeaks, type Peaks } from "./probes.ts";
import { checkTargets, formatChecks, formatTable, ratioSummary } from "./report.ts";
import { FULL_TIMING, QUICK_TIMING } from "./timing.ts";
import { runInChromium } from "./browser.ts";
import { createOrtPeer } from "./peers/ort.ts";
import { createTfjsPeer } from "./peers/tfjs.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
/** Comma-separated substrings of case ids. */
const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The repo root: the folder above this bundle (dist/bench) or source file that has kernels-bench/shaders. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "kernels-bench", "shaders"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("kernels-bench: cannot find the repo root (kernels-bench/shaders) above the bundle");
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "adapter";
}

async function makePeers(): Promise<{ peers: Peer[]; notes: string[] }> {
  const peers: Peer[] = [];
  const notes: string[] = [];
  for (const [name, make] of [["tfjs", createTfjsPeer], ["ort", createOrtPeer]] as const) {
    try {
      const p = await make();
      peers.push(p);
      notes.push(`${name}: ${p.describe}`);
    } catch (e) {
      notes.push(`${name}: unavailable — ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { peers, notes };
}

async function main(): Promise<void> {
  const root = repoRoot();
  const cases = (quick ? QUICK_CASES : FULL_CASES).filter((c) => !only || only.some((o) => c.id.includes(o)));
  const timing = quick ? QUICK_TIMING : FULL_TIMING;
  const repsArg = args.find((a) => a.startsWith("--reps="))?.slice("--reps=".length);
  const reps = repsArg === undefined ? 1 : Number(repsArg);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps expects a whole number ≥ 1, got ${JSON.stringify(repsArg)}`);
  const started = Date.now();

  const gpu = await Gpu.create();
  const adapter = gpu.ctx.describe();
  log(`kernels-bench (${quick ? "quick" : "full"}, ${cases.length} cases) on ${adapter}`);
  const shaders = Object.fromEntries(PROBE_FILES.map((f) => [f, readFileSync(join(root, "kernels-bench/shaders", f), "utf8")]));
  const before = await measurePeaks(gpu, shaders, quick ? QUICK_PROBE : FULL_PROBE, timing);
  log(`measured peaks: FMA ${before.fmaGflops.toFixed(1)} GFLOP/s, copy ${before.copyGBs.toFixed(2)} GB/s`);
  const hasDot4 = await hasPackedIntegerDot();

  const { peers, notes } = args.includes("--no-peers") ? { peers: [], notes: ["peers skipped (--no-peers)"] } : await makePeers();
  for (const n of notes) log(n);
  const rows = await runBench(gpu, cases, before, {
    timing: { ...timing, reps },
    peers,
    wallOnly: args.includes("--wall-only"),
    onRow: (r) => log(`  ${r.backend.padEnd(4)} ${r.id} ${r.dtype}: ${r.status === "ok" ? `${r.us!.toFixed(0)} µs` : `${r.status}${r.detail ? ` (${r.detail})` : ""}`}`),
  });
  // Load from other work on this machine moves the probes: measure again and keep the best of both.
  const after = await measurePeaks(gpu, shaders, quick ? QUICK_PROBE : FULL_PROBE, timing);
  const peaks: Peaks = { fmaGflops: Math.max(before.fmaGflops, after.fmaGflops), copyGBs: Math.max(before.copyGBs, after.copyGBs) };
  scoreAgainst(rows, peaks);
  log(`peaks after the cases: FMA ${after.fmaGflops.toFixed(1)} GFLOP/s, copy ${after.copyGBs.toFixed(2)} GB/s; using the best of both`);
  const checks = checkTargets(rows, peaks, hasDot4);

  console.log(`\n## ${adapter}\nFMA peak ${peaks.fmaGflops.toFixed(1)} GFLOP/s, copy peak ${peaks.copyGBs.toFixed(2)} GB/s; ours timed by ${gpu.ctx.caps.timestamps ? "timestamp queries" : "wall clock"}; ×peer = peer wall µs / our wall µs${reps > 1 ? `; ${reps} calls per sync, times per call` : ""}\n`);
  console.log(formatTable(rows));
  console.log(`\n${formatChecks(checks)}`);

  let browser: { adapter: string; peaks?: Peaks; rows: Row[]; error?: string } | undefined;
  if (!args.includes("--no-browser")) {
    log("running our cases in headless Chromium…");
    // A browser that will not start must not cost the Node numbers: report it and go on.
    browser = await runInChromium(root, { quick, only: only?.join(",") }).catch((e: Error) => ({ adapter: "", rows: [], error: `Chromium run failed: ${e.message.split("\n")[0]}` }));
    if (browser.error) console.log(`\n## browser: ${browser.error}`);
    else {
      console.log(`\n## ${browser.adapter} (headless Chromium)\nFMA peak ${browser.peaks!.fmaGflops.toFixed(1)} GFLOP/s, copy peak ${browser.peaks!.copyGBs.toFixed(2)} GB/s\n`);
      console.log(formatTable(browser.rows));
    }
  }

  const date = new Date().toISOString().slice(0, 19).replace(/:/g, "-");
  const dir = join(root, "kernels-bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${slug(adapter)}-${date}.json`);
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(file, JSON.stringify({ date, quick, reps, seconds, node: { adapter, caps: gpu.ctx.caps, peaks, peakProbes: [before, after], hasDot4, peers: notes, rows, checks }, browser }, null, 2));
  log(`wrote ${file} (${seconds.toFixed(0)} s)`);
  console.log(JSON.stringify(ratioSummary(adapter, rows)));
  gpu.ctx.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

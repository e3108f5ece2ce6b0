/**
 * `npx vite-node kernels-bench/overhead.ts [--reps=50] [--rounds=3] [--shape=MxKxN]`
 * Per-call wall time of a tiny linear (default 8×64×64), ours against tfjs and ORT, `reps` calls per sync, timed
 * interleaved: with a kernel this small, what is left is each library's host-side cost per call (JS, Dawn, the
 * submit) plus the adapter's fixed cost per dispatch. Ours runs without timestamp queries, as a user's call does.
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { runBench, type Peer } from "./bench.ts";
import type { BenchCase } from "./cases.ts";
import { createOrtPeer } from "./peers/ort.ts";
import { createTfjsPeer } from "./peers/tfjs.ts";
import { shapesArg } from "./shapes-arg.ts";

const args = process.argv.slice(2);
const num = (name: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const reps = num("reps", 50);
const rounds = num("rounds", 3);
const [m, k, n] = (shapesArg(args.map((a) => a.replace(/^--shape=/, "--shapes=")), 3, "MxKxN")?.[0] ?? [8, 64, 64]) as [number, number, number];
if (!Number.isInteger(reps) || reps < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error("--reps and --rounds must be whole numbers ≥ 1");

const gpu = await Gpu.create();
const peers: Peer[] = [];
for (const make of [createTfjsPeer, createOrtPeer]) {
  try {
    peers.push(await make());
  } catch (e) {
    console.log(`peer unavailable: ${(e as Error).message.split("\n")[0]}`);
  }
}
const cases: BenchCase[] = [{ id: `linear_${m}x${k}x${n}`, where: "per-call overhead", shape: { op: "linear", m, k, n }, dtypes: ["f32"] }];
console.log(`per-call wall µs, linear ${m}×${k}×${n}, ${reps} calls per sync, on ${gpu.ctx.describe()}`);
console.log(["round", "ours", ...peers.map((p) => p.name)].join(" | "));
for (let r = 1; r <= rounds; r++) {
  const rows = await runBench(gpu, cases, { fmaGflops: 1, copyGBs: 1 }, { timing: { warmup: 3, minSeconds: 2, minRuns: 5, maxRuns: 500, reps }, peers, wallOnly: true });
  console.log([r, ...rows.map((row) => row.timing?.wallUs.toFixed(0) ?? row.status)].join(" | "));
}
process.exit(0);

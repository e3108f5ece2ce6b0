/**
 * `npx vite-node kernels-bench/linear-kernels.ts [--quick] [--only=<id substring>,…] [--schemes=W4A16,W4A8,…] [--seconds=S]`
 * Float and quantized linears against each other on one shape at a time, timed interleaved run by run
 * (timing.ts) so machine load hits them alike: f32 dense, W4A16, W8A16, W8A8 and W4A8 (the integer schemes with
 * the kernel the adapter picks, plus linear_int8.wgsl's dot4I8Packed path where the CPU kernel is the default).
 * The integer rows include the per-token quantization of x, as a model call does. Prints GPU µs (timestamps),
 * wall µs, GFLOP/s and the ratio to W4A16 (GPU time), the comparison of issue 4's "W4A8 ≥ W4A16" target.
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { linear } from "../src/ops/linear.ts";
import { quantizeWeightOnGpu } from "../src/ops/quant-blocks.ts";
import { intCpuKernelFits } from "../src/ops/quant-int-linear.ts";
import { quantizedLinear, type QuantizedLinearOptions } from "../src/ops/quant-linear.ts";
import { disposeQuantizedWeight, type QuantizedWeight } from "../src/ops/quant-weight.ts";
import { QUANT_FORMATS } from "../src/quant/formats.ts";
import { INT4_GROUP } from "./cases.ts";
import { seededUniform } from "./random.ts";
import { timedOp } from "./gpu-run.ts";
import { FULL_TIMING, QUICK_TIMING, timeInterleaved, type PreparedRun, type Timing } from "./timing.ts";

const FULL: [number, number, number][] = [[4096, 320, 1280], [1024, 640, 2560], [77, 1024, 320]];
const QUICK: [number, number, number][] = [[256, 320, 1280], [77, 1024, 320]];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
// --schemes: the quantized schemes to time (W4A16 always, as the ratios' base); --seconds: timed seconds per kernel
// and shape (SwiftShader's run-to-run spread needs several seconds for a steady median).
const SCHEMES = ["W4A16", "W8A16", "W8A8", "W4A8"] as const;
const schemesArg = args.find((a) => a.startsWith("--schemes="))?.slice(10).split(",");
const schemes = SCHEMES.filter((s) => s === "W4A16" || !schemesArg || schemesArg.includes(s));
const seconds = Number(args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? NaN);
const timing = { ...(quick ? QUICK_TIMING : FULL_TIMING), ...(Number.isFinite(seconds) ? { minSeconds: seconds, maxRuns: 1000 } : {}) };

const gpu = await Gpu.create();
console.log(`linear kernels on ${gpu.ctx.describe()}, ${new Date().toISOString()}`);
console.log("shape | kernel | GPU µs | wall µs | GFLOP/s | ×W4A16");
for (const [m, k, n] of (quick ? QUICK : FULL).filter(([m, k, n]) => !only || only.some((o) => `${m}x${k}x${n}`.includes(o)))) {
  const x = gpu.upload(seededUniform(m * k, 1), [m, k]);
  const w = gpu.upload(seededUniform(n * k, 2, 1 / Math.sqrt(k)), [n, k]);
  const names: string[] = ["f32"];
  const runs: PreparedRun[] = [timedOp(gpu, () => linear(gpu, x, w))];
  const weights: QuantizedWeight[] = [];
  for (const scheme of schemes) {
    const f = QUANT_FORMATS[scheme];
    const qw = await quantizeWeightOnGpu(gpu, w, f, f.weight.bits === 4 ? INT4_GROUP : "per-channel");
    weights.push(qw);
    const variants: [string, QuantizedLinearOptions][] = [[scheme, {}]];
    if (f.activation && intCpuKernelFits(gpu, qw)) variants.push([`${scheme} dot4`, { intKernel: "dot4" }]);
    for (const [name, opts] of variants) {
      names.push(name);
      runs.push(timedOp(gpu, () => quantizedLinear(gpu, x, qw, undefined, opts)));
    }
  }
  const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
  const results = await timeInterleaved(runs, timing);
  const us = (t: Timing | Error) => (t instanceof Error ? NaN : t.gpuUs ?? t.wallUs);
  const base = us(results[names.indexOf("W4A16")]!);
  names.forEach((name, i) => {
    const t = results[i]!;
    if (t instanceof Error) return console.log(`${m}x${k}x${n} | ${name} | error: ${t.message}`);
    console.log(`${m}x${k}x${n} | ${name} | ${us(t).toFixed(0)} | ${t.wallUs.toFixed(0)} | ${((2 * m * k * n) / us(t) / 1e3).toFixed(2)} | ${(base / us(t)).toFixed(2)}`);
  });
  console.log(`${m}x${k}x${n} | (load ${load} at start)`);
  weights.forEach(disposeQuantizedWeight);
  x.dispose();
  w.dispose();
}
process.exit(0);

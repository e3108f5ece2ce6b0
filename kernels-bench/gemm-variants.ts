/**
 * `npx vite-node kernels-bench/gemm-variants.ts [--quick] [--only=<shape substring>,…] [--shapes=MxKxN,…] [--variants=cpuR16w32,t64x128k16r8v/s1,…] [--dtypes=f32,f16] [--seconds=S] [--int=cpu,cpu32|auto,dot4,…|none] [--weight-only=W4A16,W8A16 [--weight-only-variants=…]]`
 * Any MATMUL_VARIANTS name runs (the tile and rows kernels on GPUs); the default list is the CPU-adapter ones.
 * The CPU-adapter matmul variants (MATMUL_CPU_VARIANTS) on the large UNet GEMMs, timed interleaved run by run
 * (timing.ts) with the FMA probe measured in the same process, so each row reads as a fraction of this adapter's
 * peak: the numbers behind issue 4's "large GEMMs ≥ 50 % of the FMA peak" verdict in RESULTS.md. Float f32/f16
 * plus the W8A8 and W4A8 linears on the CPU int kernel with 16 and 32 rows per lane (activation quantization included).
 * --weight-only=W4A16,W8A16 adds those schemes on the int-B variants cpuR16w32 and cpuR32w32 (16 / 32 rows per lane).
 * --shapes replaces the shape list, e.g. a K sweep at fixed M × N (4096x16x1280,4096x320x1280,…) separates the time of
 * the k loop from the per-tile work outside it (RESULTS.md, "Epilogue: column terms once per lane").
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Gpu } from "../src/gpu/runtime.ts";
import type { Tensor } from "../src/gpu/tensor.ts";
import { cast } from "../src/ops/cast.ts";
import { linear } from "../src/ops/linear.ts";
import { MATMUL_CPU_VARIANTS, MATMUL_VARIANTS, type MatmulVariant } from "../src/ops/matmul-kernel.ts";
import type { IntLinearKernel } from "../src/ops/quant-int-linear.ts";
import { quantizeWeightOnGpu } from "../src/ops/quant-blocks.ts";
import { quantizedLinear } from "../src/ops/quant-linear.ts";
import { disposeQuantizedWeight, type QuantizedWeight } from "../src/ops/quant-weight.ts";
import { QUANT_FORMATS } from "../src/quant/formats.ts";
import { INT4_GROUP } from "./cases.ts";
import { FULL_PROBE, measurePeaks, PROBE_FILES, QUICK_PROBE } from "./probes.ts";
import { seededUniform } from "./random.ts";
import { shapesArg } from "./shapes-arg.ts";
import { timedOp } from "./gpu-run.ts";
import { FULL_TIMING, QUICK_TIMING, timeInterleaved, type PreparedRun, type Timing } from "./timing.ts";

const FULL: [number, number, number][] = [[4096, 320, 1280], [1024, 640, 2560], [4096, 320, 320]];
const QUICK: [number, number, number][] = [[1024, 320, 1280]];

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(",");
const quick = args.includes("--quick");
const only = arg("only");
// A variant may carry "/sN": a tile variant split in N K slices ("/s1" unsplit; plain tile variants split as linear does).
const variantArgs = arg("variants") ?? Object.keys(MATMUL_CPU_VARIANTS);
const variants = variantArgs.map((v) => v.split("/s")[0]!) as MatmulVariant[];
const splitOf = (i: number) => (variantArgs[i]!.includes("/s") ? Number(variantArgs[i]!.split("/s")[1]) : undefined);
// --int=none leaves the integer linears out (e.g. for a K sweep); --int=auto,dot4,… on GPUs.
const intKernels = (arg("int") ?? ["cpu", "cpu32"]).filter((v) => v !== "none") as IntLinearKernel[];
const dtypes = (arg("dtypes") ?? ["f32", "f16"]) as ("f32" | "f16")[];
const weightOnly = (arg("weight-only") ?? []) as ("W4A16" | "W8A16")[];
// The matmul variants the weight-only schemes run on (16 / 32 rows per lane by default).
const weightOnlyVariants = (arg("weight-only-variants") ?? ["cpuR16w32", "cpuR32w32"]) as MatmulVariant[];
// --seconds: timed seconds per kernel and shape (longer = steadier medians on a shared machine).
const seconds = Number(arg("seconds")?.[0] ?? NaN);
const timing = { ...(quick ? QUICK_TIMING : FULL_TIMING), ...(Number.isFinite(seconds) ? { minSeconds: seconds } : {}) };
for (const v of [...variants, ...weightOnlyVariants]) if (!MATMUL_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; expected one of ${MATMUL_VARIANTS.join(", ")}`);

const gpu = await Gpu.create();
const probeShaders = Object.fromEntries(PROBE_FILES.map((f) => [f, readFileSync(new URL(`./shaders/${f}`, import.meta.url), "utf8")]));
const peakAt = async () => (await measurePeaks(gpu, probeShaders, quick ? QUICK_PROBE : FULL_PROBE, quick ? QUICK_TIMING : FULL_TIMING)).fmaGflops;
console.log(`Matmul variants on ${gpu.ctx.describe()}, ${new Date().toISOString()}`);
console.log("shape | dtype | kernel | GPU µs | GFLOP/s | % FMA peak");
const shapes = shapesArg(args, 3, "MxKxN") as [number, number, number][] | undefined;
for (const [m, k, n] of (shapes ?? (quick ? QUICK : FULL)).filter(([m, k, n]) => !only || only.some((o) => `${m}x${k}x${n}`.includes(o)))) {
  const load = loadavg()[0]!.toFixed(1);
  const peakBefore = await peakAt();
  const names: string[] = [];
  const runs: PreparedRun[] = [];
  const xf = gpu.upload(seededUniform(m * k, 1), [m, k]);
  const wf = gpu.upload(seededUniform(n * k, 2, 1 / Math.sqrt(k)), [n, k]);
  const tensors: Tensor[] = [xf, wf];
  const weights: QuantizedWeight[] = [];
  for (const dtype of dtypes) {
    const x = dtype === "f32" ? xf : await cast(gpu, xf, dtype);
    const w = dtype === "f32" ? wf : await cast(gpu, wf, dtype);
    if (dtype !== "f32") tensors.push(x, w);
    variants.forEach((variant, i) => {
      names.push(`${dtype} | ${variantArgs[i]}`);
      runs.push(timedOp(gpu, () => linear(gpu, x, w, null, { variant, splitK: splitOf(i) })));
    });
  }
  // The weight quantized in `scheme` (kept for disposal), or null where int4 groups do not divide K.
  const quantized = async (scheme: "W8A8" | "W4A8" | "W4A16" | "W8A16"): Promise<QuantizedWeight | null> => {
    const f = QUANT_FORMATS[scheme];
    if (f.weight.bits === 4 && k % INT4_GROUP !== 0) {
      console.log(`${m}x${k}x${n} | ${scheme} skipped: K is not a multiple of the int4 group (${INT4_GROUP})`);
      return null;
    }
    const qw = await quantizeWeightOnGpu(gpu, wf, f, f.weight.bits === 4 ? INT4_GROUP : "per-channel");
    weights.push(qw);
    return qw;
  };
  for (const scheme of intKernels.length ? (["W8A8", "W4A8"] as const) : []) {
    const qw = await quantized(scheme);
    if (!qw) continue;
    for (const intKernel of intKernels) {
      names.push(`f32 | ${scheme} ${intKernel === "cpu" ? "16 rows" : intKernel === "cpu32" ? "32 rows" : intKernel}`);
      runs.push(timedOp(gpu, () => quantizedLinear(gpu, xf, qw, undefined, { intKernel })));
    }
  }
  for (const scheme of weightOnly) {
    const qw = await quantized(scheme);
    if (!qw) continue;
    for (const variant of weightOnlyVariants) {
      names.push(`f32 | ${scheme} ${variant}`);
      runs.push(timedOp(gpu, () => quantizedLinear(gpu, xf, qw, undefined, { variant })));
    }
  }
  const results = await timeInterleaved(runs, timing);
  const peak = (peakBefore + (await peakAt())) / 2;
  const us = (t: Timing | Error) => (t instanceof Error ? NaN : (t.gpuUs ?? t.wallUs));
  names.forEach((name, i) => {
    const t = results[i]!;
    if (t instanceof Error) return console.log(`${m}x${k}x${n} | ${name} | error: ${t.message}`);
    const gflops = (2 * m * k * n) / us(t) / 1e3;
    console.log(`${m}x${k}x${n} | ${name} | ${us(t).toFixed(0)} | ${gflops.toFixed(2)} | ${((100 * gflops) / peak).toFixed(0)}%`);
  });
  console.log(`${m}x${k}x${n} | FMA probe ${peak.toFixed(1)} GFLOP/s (mean of before and after) | load ${load} at start`);
  tensors.forEach((t) => t.dispose());
  weights.forEach(disposeQuantizedWeight);
}
process.exit(0);

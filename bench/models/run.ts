/**
 * Full-size UNet benchmark (not a test): one model × one precision per process, on random weights
 * from `weights-tools make-random` (a checkpoint folder, or a config folder with tensors.json whose values are
 * generated in memory). Measures weight bytes on the GPU, the pool's peak during one UNet
 * call, the wall time of a step, and the step split by kernel (profiler).
 * Run: `node bench/models/build-and-run.mjs --model sd-turbo --quant float --dir ../shared/configs/stabilityai--sd-turbo/unet [--steps N] [--no-profile]`:
 * N plain calls (default 1; the first compiles every pipeline), then one profiled call unless --no-profile.
 * Writes bench/models/results/<model>-<quant>.json; `--report` rebuilds RESULTS.md from all of them.
 * `--vae --dir <vae folder> --size 512`: a full-size VAE decode instead (vae.ts).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { Unet } from "../../src/models/unet/unet.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { generatedSource, openDiskSource, readConfig, shapeOnlySource } from "./disk-source.ts";
import { measureMemory, writeMemoryResult } from "./memory.ts";
import { writeMemoryReport } from "./memory-report.ts";
import { MODELS, type BenchModel } from "./models.ts";
import { projections } from "./projected.ts";
import { noise } from "./noise.ts";
import { benchVae } from "./vae.ts";
import { writeReport } from "./report.ts";

/** Where results live; the bundle runs from dist/, so the repo root comes from the caller. */
const ROOT = process.env.QSCHED_ROOT ?? process.cwd();
export const RESULTS_DIR = join(ROOT, "bench/models/results");
const TOP_KERNELS = 12;

export interface KernelRow {
  label: string;
  calls: number;
  ms: number;
  percent: number;
}

export interface BenchResult {
  model: string;
  quant: string;
  policy: "torchao" | "none";
  resolution: string;
  adapter: string;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  date: string;
  loadSeconds: number;
  /** Bytes of our tensors (exact) and of the pool buffers holding them (size classes round up). */
  weightBytes: number;
  weightPoolBytes: number;
  /** Pool high-water mark during one UNet call: weights + inputs + activations. */
  peakLiveBytes: number;
  /** Same, less what was live before the call (weights and inputs). */
  peakActivationBytes: number;
  heldBytesAfter: number;
  dispatchesPerStep: number;
  /** Wall time of each call (ms); the first includes pipeline compilation. */
  stepMs: number[];
  profiledStepMs: number | null;
  profilerSource: string;
  profiledDispatches: number;
  kernels: KernelRow[];
  error?: string;
}

function upload(gpu: Gpu, shape: number[], seed: number, label: string): Tensor {
  return gpu.upload(noise(shape.reduce((a, b) => a * b, 1), seed), shape, "f32", label);
}

function unetBytes(unet: Unet): number {
  let b = unet.weights.bytes;
  for (const q of unet.quantized?.weights.values() ?? []) b += q.codes.byteLength + q.scales.byteLength + (q.zeroPoints?.byteLength ?? 0);
  return b;
}

async function bench(m: BenchModel, quant: string, dir: string, steps: number, profile: boolean): Promise<BenchResult> {
  const loadAvgStart = loadavg();
  const gpu = await Gpu.create();
  // A checkpoint folder, or a config folder (tensors.json) whose weights are generated in memory (make-random's values).
  const disk = readdirSync(dir).some((f) => f.endsWith(".safetensors")) ? openDiskSource(dir) : undefined;
  const source = disk ?? generatedSource(dir);
  const scheme = quant === "float" ? undefined : (quant as QuantSchemeId);
  if (scheme && !QUANT_FORMATS[scheme]) throw new Error(`unknown --quant ${quant}; expected float, ${Object.keys(QUANT_FORMATS).join(", ")}`);
  const before = gpu.pool.live;
  const t0 = performance.now();
  const unet = Unet.load(gpu, source, readConfig(dir), scheme ? { quant: QUANT_FORMATS[scheme] } : {});
  await gpu.sync();
  const loadSeconds = (performance.now() - t0) / 1000;
  const weightPoolBytes = gpu.pool.live - before;
  disk?.close();
  console.error(`loaded ${m.id} ${quant} in ${loadSeconds.toFixed(0)} s: ${(unetBytes(unet) / 2 ** 20).toFixed(0)} MiB of weights`);

  const [h, w] = m.latent;
  const sample = upload(gpu, [1, 4, h, w], 1, "sample");
  const context = upload(gpu, [1, 77, m.contextDim], 2, "context");
  const timestepCond = m.timestepCondDim ? upload(gpu, [1, m.timestepCondDim], 3, "timestep_cond") : undefined;
  const textEmbeds = m.textEmbedsDim ? upload(gpu, [1, m.textEmbedsDim], 4, "text_embeds") : undefined;
  const inputs = { sample, timestep: 999, encoderHiddenStates: context, timestepCond, textEmbeds, timeIds: m.timeIds };

  // Every call (profiled or not) tracks the pool's high-water mark above what was live before it.
  let peakLiveBytes = 0;
  let peakActivationBytes = 0;
  let dispatchesPerStep = 0;
  const call = async (what: string, finish: () => Promise<unknown>): Promise<number> => {
    const liveBefore = gpu.pool.live;
    gpu.pool.peakLive = liveBefore;
    const d0 = gpu.dispatches;
    const s0 = performance.now();
    const out = await unet.forward(inputs);
    await finish();
    const ms = performance.now() - s0;
    peakLiveBytes = Math.max(peakLiveBytes, gpu.pool.peakLive);
    peakActivationBytes = Math.max(peakActivationBytes, gpu.pool.peakLive - liveBefore);
    dispatchesPerStep = gpu.dispatches - d0;
    out.dispose();
    console.error(`${what}: ${(ms / 1000).toFixed(1)} s, peak ${(gpu.pool.peakLive / 2 ** 20).toFixed(0)} MiB, ${dispatchesPerStep} dispatches`);
    return ms;
  };
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) stepMs.push(await call(`step ${i + 1}/${steps}`, () => gpu.sync()));

  let profiledStepMs: number | null = null;
  let kernels: KernelRow[] = [];
  let profilerSource = "off";
  let profiledDispatches = 0;
  if (profile) {
    profilerSource = gpu.startProfiling().source;
    let times: Awaited<ReturnType<Gpu["stopProfiling"]>> = [];
    profiledStepMs = await call("profiled step", async () => (times = await gpu.stopProfiling()));
    const total = times.reduce((a, t) => a + t.totalMs, 0);
    profiledDispatches = times.reduce((a, t) => a + t.calls, 0);
    kernels = times.slice(0, TOP_KERNELS).map((t) => ({ label: t.label, calls: t.calls, ms: t.totalMs, percent: (100 * t.totalMs) / total }));
    console.error(`profiled: ${(total / 1000).toFixed(1)} s in ${profiledDispatches} timed dispatches (${profilerSource})`);
  }
  const result: BenchResult = {
    model: m.id,
    quant,
    policy: scheme ? "torchao" : "none",
    resolution: `${h * 8}x${w * 8}`,
    adapter: gpu.ctx.describe(),
    loadAvgStart,
    loadAvgEnd: loadavg(),
    date: new Date().toISOString(),
    loadSeconds,
    weightBytes: unetBytes(unet),
    weightPoolBytes,
    peakLiveBytes,
    peakActivationBytes,
    heldBytesAfter: gpu.pool.held,
    dispatchesPerStep,
    stepMs,
    profiledStepMs,
    profilerSource,
    profiledDispatches,
    kernels,
  };
  for (const t of [sample, context, timestepCond, textEmbeds]) t?.dispose();
  unet.dispose();
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      quant: { type: "string", default: "float" },
      dir: { type: "string" },
      steps: { type: "string", default: "1" },
      "no-profile": { type: "boolean", default: false },
      report: { type: "boolean", default: false },
      projected: { type: "boolean", default: false },
      // --memory (memory.ts): weight bytes and peaks only; --dry replays allocations without kernels.
      memory: { type: "boolean", default: false },
      policy: { type: "string", default: "torchao" },
      scales: { type: "string", default: "f32" },
      size: { type: "string" },
      dry: { type: "boolean", default: false },
      // --vae (vae.ts): one full-size VAE decode; --dir is a vae config or checkpoint folder.
      vae: { type: "boolean", default: false },
      dtype: { type: "string", default: "f32" },
    },
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (values.report) {
    writeReport(RESULTS_DIR, join(ROOT, "bench/models/RESULTS.md"));
    writeMemoryReport(RESULTS_DIR, join(ROOT, "bench/models/RESULTS.md"));
    return;
  }
  if (values.vae) {
    if (!values.dir) throw new Error("usage: --vae --dir <vae config or checkpoint folder> [--size 512] [--dtype f32|f16] [--steps N] [--no-profile]");
    if (values.dtype !== "f32" && values.dtype !== "f16") throw new Error(`--dtype must be f32|f16, got ${values.dtype}`);
    await benchVae({ dir: values.dir, size: Number(values.size ?? 512), dtype: values.dtype, calls: Number(values.steps), profile: !values["no-profile"], resultsDir: RESULTS_DIR, topKernels: TOP_KERNELS });
    return;
  }
  const m = MODELS[values.model ?? ""];
  if (!m || !values.dir) throw new Error(`usage: --model ${Object.keys(MODELS).join("|")} --dir <unet folder> [--quant float|W8A8|W4A8] [--steps N] [--no-profile]`);
  if (values.memory) {
    if (values.policy !== "torchao" && values.policy !== "all") throw new Error(`--policy must be torchao|all, got ${values.policy}`);
    if (values.scales !== "f32" && values.scales !== "f16") throw new Error(`--scales must be f32|f16, got ${values.scales}`);
    const size = Number(values.size ?? m.latent[0] * 8);
    const r = await measureMemory({ model: m, quant: values.quant!, policy: values.policy, scales: values.scales, dir: values.dir, size, dry: values.dry });
    writeMemoryResult(RESULTS_DIR, r);
    console.log(JSON.stringify({ ...r, eager: { ...r.eager, peak: { ...r.eager.peak, live: r.eager.peak.live.slice(0, 6) } } }, null, 2));
    return;
  }
  if (values.projected) {
    // A config folder (tensors.json, no checkpoint) is enough: only names and shapes are read.
    const hasWeights = readdirSync(values.dir).some((f) => f.endsWith(".safetensors"));
    const source = hasWeights ? openDiskSource(values.dir) : shapeOnlySource(values.dir);
    const rows = projections(source);
    if (hasWeights) (source as ReturnType<typeof openDiskSource>).close();
    writeFileSync(join(RESULTS_DIR, `projected-${m.id}.json`), JSON.stringify({ model: m.id, rows }, null, 2));
    console.table(rows.map((r) => ({ ...r, GB_f32: (r.bytesFloatF32 / 1e9).toFixed(3), GB_f16: (r.bytesFloatF16 / 1e9).toFixed(3) })));
    return;
  }
  const file = join(RESULTS_DIR, `${m.id}-${values.quant}.json`);
  let result: BenchResult;
  try {
    result = await bench(m, values.quant!, values.dir, Number(values.steps), !values["no-profile"]);
  } catch (e) {
    // A failure at full size is a finding: keep what failed and where.
    console.error(e);
    writeFileSync(file, JSON.stringify({ model: m.id, quant: values.quant, date: new Date().toISOString(), loadAvgEnd: loadavg(), error: (e as Error).stack ?? String(e) }, null, 2));
    process.exitCode = 1;
    return;
  }
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ ...result, kernels: result.kernels.slice(0, 5) }, null, 2));
}

await main();

/**
 * Memory of one full-size UNet call (not a test): exact weight bytes as uploaded, and the pool's peak
 * during an eager call and while recording the denoising loop's plan (its arena is what generate()
 * holds for the UNet's intermediates). Weights come from a random checkpoint on disk (--dir with
 * safetensors) or, with only a config folder (tensors.json), are generated in memory tensor by
 * tensor with make-random's own generator (same values as `make-random --dtype f32`), so no
 * multi-GB file is needed.
 *
 * `--dry` is an allocation-only replay: kernels are neither compiled nor dispatched, everything else
 * runs (every op's shape checks, pool acquire/release in the model's order, plan recording with its
 * arena). The UNet forward never reads the GPU back, so the pool sees exactly the sequence of a real
 * call; `--dry` and a real call give the same bytes (checked at a small size, RESULTS.md).
 * Run: `node bench/models/build-and-run.mjs --memory --model sd-turbo --quant W4A8 --policy all
 *       --scales f16 --dir ../shared/configs/stabilityai--sd-turbo/unet [--size 512] [--dry]`.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { CompiledKernel } from "../../src/gpu/kernel-registry.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { recordPlan } from "../../src/graph/plan.ts";
import type { WeightSource } from "../../src/models/weights.ts";
import { Unet } from "../../src/models/unet/unet.ts";
import type { ScaleStorage } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { generatedSource, openDiskSource, readConfig } from "./disk-source.ts";
import type { BenchModel } from "./models.ts";

export interface MemoryRequest {
  model: BenchModel;
  quant: string;
  policy: "torchao" | "all";
  scales: ScaleStorage;
  dir: string;
  /** Image side in pixels (latent = size / 8). */
  size: number;
  dry: boolean;
}

/** Bytes of one UNet's GPU tensors, by kind. */
export interface WeightBytes {
  float: number;
  codes: number;
  scales: number;
  zeroPoints: number;
  total: number;
}

/** The live set at the moment the pool reached its peak: where the peak comes from. */
export interface PeakMoment {
  bytes: number;
  scope: string;
  /** Label of the allocation that set the peak (the op that asked for it). */
  at: string;
  /** Largest live non-weight tensors then: label and bytes. */
  live: { label: string; bytes: number }[];
}

export interface MemoryResult {
  model: string;
  quant: string;
  policy: string;
  scales: ScaleStorage;
  resolution: string;
  mode: "dry" | "real";
  adapter: string;
  date: string;
  loadAvgEnd: number[];
  loadSeconds: number;
  weights: WeightBytes;
  /** Pool bytes live after load (weights at exact size, rounded to 16 B). */
  weightPoolBytes: number;
  inputBytes: number;
  dispatches: number;
  eager: { peakLiveBytes: number; heldBytes: number; seconds: number; peak: PeakMoment };
  plan: { arenaBytes: number; peakLiveBytes: number; heldBytes: number; seconds: number };
}

function weightBytes(unet: Unet): WeightBytes {
  const b: WeightBytes = { float: unet.weights.bytes, codes: 0, scales: 0, zeroPoints: 0, total: 0 };
  const q = unet.quantized;
  for (const w of [...(q?.weights.values() ?? []), ...(q?.convs.values() ?? [])]) {
    b.codes += w.codes.byteLength;
    b.scales += w.scales.byteLength;
    b.zeroPoints += w.zeroPoints?.byteLength ?? 0;
  }
  b.total = b.float + b.codes + b.scales + b.zeroPoints;
  return b;
}

/**
 * Watches the pool: which buffers are live (label, bytes) and the live set when `peakLive` rises,
 * with the model scope that asked (gpu.scope names the module).
 */
function watchPool(gpu: Gpu) {
  const pool = gpu.pool;
  const live = new Map<GPUBuffer, { label: string; bytes: number }>();
  const scopes: string[] = [];
  let baseline = new Set<GPUBuffer>();
  let peak: PeakMoment = { bytes: 0, scope: "", at: "", live: [] };
  const acquire = pool.acquire.bind(pool);
  const release = pool.release.bind(pool);
  pool.acquire = (bytes, label = "tensor", exact = false) => {
    const before = pool.peakLive;
    const buf = acquire(bytes, label, exact);
    live.set(buf, { label, bytes: pool.sizeOf(buf) });
    if (pool.peakLive > before && pool.peakLive > peak.bytes) {
      const rows = [...live].filter(([b]) => !baseline.has(b)).map(([, v]) => v);
      peak = { bytes: pool.peakLive, scope: scopes.join("/"), at: label, live: rows.sort((a, b) => b.bytes - a.bytes).slice(0, 12) };
    }
    return buf;
  };
  pool.release = (buf) => {
    live.delete(buf);
    release(buf);
  };
  const scope = gpu.scope.bind(gpu);
  gpu.scope = async (name, fn) => {
    scopes.push(name);
    try {
      return await scope(name, fn);
    } finally {
      scopes.pop();
    }
  };
  return {
    /** Starts a measurement: what is live now (weights, inputs) is the baseline. */
    reset(): void {
      baseline = new Set(live.keys());
      pool.peakLive = pool.live;
      peak = { bytes: 0, scope: "", at: "", live: [] };
    },
    peak: () => peak,
  };
}

/** Allocation-only replay: no pipeline is compiled and no dispatch is encoded; the count is kept. */
function makeDry(gpu: Gpu): () => number {
  let n = 0;
  gpu.kernel = async () => ({}) as CompiledKernel;
  gpu.dispatch = () => void n++;
  return () => n;
}

export async function measureMemory(r: MemoryRequest): Promise<MemoryResult> {
  const scheme = r.quant === "float" ? undefined : (r.quant as QuantSchemeId);
  if (scheme && !QUANT_FORMATS[scheme]) throw new Error(`unknown --quant ${r.quant}; expected float, ${Object.keys(QUANT_FORMATS).join(", ")}`);
  const gpu = await Gpu.create();
  const watch = watchPool(gpu);
  const dryCount = r.dry ? makeDry(gpu) : null;
  const onDisk = readdirSync(r.dir).some((f) => f.endsWith(".safetensors"));
  const source = onDisk ? openDiskSource(r.dir) : generatedSource(r.dir);
  const t0 = performance.now();
  const live0 = gpu.pool.live;
  const unet = Unet.load(gpu, source, readConfig(r.dir), scheme ? { quant: QUANT_FORMATS[scheme], policy: r.policy, scaleStorage: r.scales } : {});
  await gpu.sync();
  const loadSeconds = (performance.now() - t0) / 1000;
  if (onDisk) (source as ReturnType<typeof openDiskSource>).close();
  const weightPoolBytes = gpu.pool.live - live0;
  const weights = weightBytes(unet);
  console.error(`loaded ${r.model.id} ${r.quant}/${r.policy}/${r.scales} in ${loadSeconds.toFixed(0)} s: ${(weights.total / 1e9).toFixed(3)} GB of weights`);

  if (r.size % 8) throw new Error(`--size ${r.size} is not a multiple of 8`);
  const [h, w] = [r.size / 8, r.size / 8];
  const m = r.model;
  const up = (shape: number[], label: string) => gpu.upload(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1), shape, "f32", label);
  const inputs = {
    sample: up([1, 4, h, w], "sample"),
    timestep: 999,
    encoderHiddenStates: up([1, 77, m.contextDim], "context"),
    timestepCond: m.timestepCondDim ? up([1, m.timestepCondDim], "timestep_cond") : undefined,
    textEmbeds: m.textEmbedsDim ? up([1, m.textEmbedsDim], "text_embeds") : undefined,
    timeIds: m.timeIds,
  };
  const inputBytes = gpu.pool.live - live0 - weightPoolBytes;
  const count = () => (dryCount ? dryCount() : gpu.dispatches);

  gpu.pool.trim(); // held = what the call itself makes the pool allocate, on top of live tensors
  watch.reset();
  const d0 = count();
  let s0 = performance.now();
  const out = await unet.forward(inputs);
  await gpu.sync();
  const eager = { peakLiveBytes: gpu.pool.peakLive, heldBytes: gpu.pool.held, seconds: (performance.now() - s0) / 1000, peak: watch.peak() };
  const dispatches = count() - d0;
  out.dispose();
  console.error(`eager ${r.dry ? "(dry) " : ""}call: ${eager.seconds.toFixed(1)} s, peak ${(eager.peakLiveBytes / 1e9).toFixed(3)} GB at ${eager.peak.at} ${eager.peak.scope}, ${dispatches} dispatches`);

  // The denoising loop's plan: its arena holds the intermediates from now on (src/graph/plan.ts).
  gpu.pool.trim(); // free buffers cached by the eager call would otherwise hide the arena's own
  watch.reset();
  s0 = performance.now();
  const plan = await recordPlan(gpu, () => unet.forward(inputs));
  await gpu.sync();
  const planResult = { arenaBytes: plan.arenaBytes, peakLiveBytes: gpu.pool.peakLive, heldBytes: gpu.pool.held, seconds: (performance.now() - s0) / 1000 };
  console.error(`plan: arena ${(plan.arenaBytes / 1e9).toFixed(3)} GB, held ${(planResult.heldBytes / 1e9).toFixed(3)} GB`);
  plan.dispose();
  for (const t of Object.values(inputs)) if (t && typeof t === "object" && "dispose" in t) (t as Tensor).dispose();
  const result: MemoryResult = {
    model: m.id,
    quant: r.quant,
    policy: scheme ? r.policy : "none",
    scales: r.scales,
    resolution: `${r.size}x${r.size}`,
    mode: r.dry ? "dry" : "real",
    adapter: gpu.ctx.describe(),
    date: new Date().toISOString(),
    loadAvgEnd: loadavg(),
    loadSeconds,
    weights,
    weightPoolBytes,
    inputBytes,
    dispatches,
    eager,
    plan: planResult,
  };
  unet.dispose();
  return result;
}

/** bench/models/results/memory/<model>-<quant>-<policy>-<scales>-<size>-<mode>.json (report.ts reads only the top level). */
export function writeMemoryResult(resultsDir: string, r: MemoryResult): void {
  const dir = join(resultsDir, "memory");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${r.model}-${r.quant}-${r.policy}-${r.scales}-${r.resolution}-${r.mode}.json`), JSON.stringify(r, null, 2));
}

/**
 * Full-size VAE decode benchmark (not a test): one AutoencoderKL decoder at one image size, random
 * weights generated in memory from a config folder's tensors.json (make-random's values, no checkpoint
 * on disk) or read from a checkpoint folder. Measures the decode's wall time (the first call also
 * compiles every pipeline), its split by kernel (profiler), and the pool's peak.
 * Run: `node bench/models/build-and-run.mjs --vae --dir ../shared/configs/stabilityai--sd-turbo/vae
 *       --size 512 [--dtype f32|f16] [--steps N] [--no-profile]`.
 * Writes bench/models/results/vae-<folder>-<size>-<dtype>.json.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { basename, dirname, join } from "node:path";
import { Gpu } from "../../src/gpu/runtime.ts";
import { VaeDecoder } from "../../src/models/vae/decoder.ts";
import { generatedSource, openDiskSource, readConfig } from "./disk-source.ts";
import { noise } from "./noise.ts";

export interface VaeBenchRequest {
  dir: string;
  size: number;
  dtype: "f32" | "f16";
  calls: number;
  profile: boolean;
  resultsDir: string;
  topKernels: number;
}

export async function benchVae(r: VaeBenchRequest): Promise<void> {
  if (!(r.size > 0 && r.size % 8 === 0)) throw new Error(`--size must be a positive multiple of 8 pixels, got ${r.size}`);
  const loadAvgStart = loadavg();
  const gpu = await Gpu.create();
  const onDisk = readdirSync(r.dir).some((f) => f.endsWith(".safetensors"));
  const disk = onDisk ? openDiskSource(r.dir) : undefined;
  const source = disk ?? generatedSource(r.dir);
  const t0 = performance.now();
  const vae = VaeDecoder.load(gpu, source, readConfig(r.dir), { dtype: r.dtype });
  await gpu.sync();
  disk?.close();
  const loadSeconds = (performance.now() - t0) / 1000;
  const weightBytes = vae.weights.bytes;
  console.error(`loaded the VAE decoder (${r.dtype}) in ${loadSeconds.toFixed(0)} s: ${(weightBytes / 2 ** 20).toFixed(0)} MiB of weights`);

  const h = r.size / 8;
  const z = gpu.upload(noise(vae.config.latentChannels * h * h, 7), [1, vae.config.latentChannels, h, h], "f32", "z");
  let peakActivationBytes = 0;
  const call = async (what: string, finish: () => Promise<unknown>): Promise<number> => {
    const liveBefore = gpu.pool.live;
    gpu.pool.peakLive = liveBefore;
    const s0 = performance.now();
    const image = await vae.decode(z);
    await finish();
    const ms = performance.now() - s0;
    peakActivationBytes = Math.max(peakActivationBytes, gpu.pool.peakLive - liveBefore);
    image.dispose();
    console.error(`${what}: ${(ms / 1000).toFixed(1)} s, peak above weights ${((gpu.pool.peakLive - liveBefore) / 2 ** 20).toFixed(0)} MiB`);
    return ms;
  };
  const decodeMs: number[] = [];
  for (let i = 0; i < r.calls; i++) decodeMs.push(await call(`decode ${i + 1}/${r.calls}`, () => gpu.sync()));
  let profiledMs: number | null = null;
  let kernels: { label: string; calls: number; ms: number; percent: number }[] = [];
  if (r.profile) {
    gpu.startProfiling();
    let times: Awaited<ReturnType<Gpu["stopProfiling"]>> = [];
    profiledMs = await call("profiled decode", async () => (times = await gpu.stopProfiling()));
    const total = times.reduce((a, t) => a + t.totalMs, 0);
    kernels = times.slice(0, r.topKernels).map((t) => ({ label: t.label, calls: t.calls, ms: t.totalMs, percent: (100 * t.totalMs) / total }));
    for (const k of kernels) console.error(`  ${k.percent.toFixed(1).padStart(5)} %  ${(k.ms / 1000).toFixed(2).padStart(7)} s  ${String(k.calls).padStart(4)}×  ${k.label}`);
  }
  const result = {
    model: basename(dirname(r.dir)),
    component: "vae decoder",
    resolution: `${r.size}x${r.size}`,
    dtype: r.dtype,
    adapter: gpu.ctx.describe(),
    date: new Date().toISOString(),
    loadAvgStart,
    loadAvgEnd: loadavg(),
    weightBytes,
    peakActivationBytes,
    decodeMs,
    profiledMs,
    kernels,
  };
  z.dispose();
  vae.dispose();
  const file = join(r.resultsDir, `vae-${result.model}-${r.size}-${r.dtype}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ ...result, kernels: kernels.slice(0, 6) }, null, 2));
}

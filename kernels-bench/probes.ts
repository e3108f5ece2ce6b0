/**
 * The adapter's measured peaks, taken by the bench itself every run: an FMA-throughput probe
 * (shaders/fma_probe.wgsl, GFLOP/s) and a vec4 copy probe (shaders/copy_probe.wgsl, GB/s). They run
 * through our kernel registry and dispatch path, timed exactly like our ops.
 */
import { defineKernel } from "../src/gpu/kernel.ts";
import { KernelRegistry, type CompiledKernel } from "../src/gpu/kernel-registry.ts";
import type { Gpu } from "../src/gpu/runtime.ts";
import { timeRuns, type TimingOptions } from "./timing.ts";

/** The probe shaders' text by file name (read from disk in Node, fetched in the browser). */
export type ProbeShaders = Record<string, string>;
export const PROBE_FILES = ["fma_probe.wgsl", "copy_probe.wgsl"] as const;

const PROBE_WG = 64;
/** FMA chains per thread in fma_probe.wgsl (its CHAINS constant). */
const FMA_CHAINS = 8;

const fmaProbe = defineKernel<null>({ name: "fma_probe", file: "fma_probe.wgsl", defines: () => ({ WG_SIZE: `${PROBE_WG}u` }), label: () => "probe_fma_vec4" });
const copyProbe = defineKernel<null>({ name: "copy_probe", file: "copy_probe.wgsl", defines: () => ({ WG_SIZE: `${PROBE_WG}u` }), label: () => "probe_copy_vec4" });

export interface Peaks {
  /** Measured vec4 FMA throughput, GFLOP/s. */
  fmaGflops: number;
  /** Measured vec4 copy bandwidth (read + write bytes), GB/s. */
  copyGBs: number;
}

export interface ProbeSize {
  /** Threads of the FMA probe (enough workgroups to fill every core many times). */
  fmaThreads: number;
  fmaIters: number;
  /** vec4 elements copied (16 bytes each); large enough to leave the CPU caches. */
  copyVec4s: number;
}

export const FULL_PROBE: ProbeSize = { fmaThreads: 64 * 1024, fmaIters: 512, copyVec4s: 4 * 1024 * 1024 };
export const QUICK_PROBE: ProbeSize = { fmaThreads: 32 * 1024, fmaIters: 256, copyVec4s: 2 * 1024 * 1024 };

function grid(gpu: Gpu, threads: number): [number, number] {
  const groups = Math.ceil(threads / PROBE_WG);
  const max = gpu.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  return groups <= max ? [groups, 1] : [max, Math.ceil(groups / max)];
}

async function timeKernel(gpu: Gpu, k: CompiledKernel, dispatch: () => void, opts: TimingOptions): Promise<number> {
  const t = await timeRuns(async () => {
    const timestamps = gpu.ctx.caps.timestamps;
    const t0 = performance.now();
    if (timestamps) gpu.startProfiling();
    dispatch();
    await gpu.sync();
    const wallMs = performance.now() - t0;
    const gpuMs = timestamps ? (await gpu.stopProfiling()).find((x) => x.label === k.label)?.totalMs : undefined;
    return { wallMs, gpuMs };
  }, opts);
  return t.gpuUs ?? t.wallUs;
}

export async function measurePeaks(gpu: Gpu, shaders: ProbeShaders, size: ProbeSize, opts: TimingOptions): Promise<Peaks> {
  const registry = new KernelRegistry(gpu.ctx, (file) => {
    const text = shaders[file];
    if (text === undefined) throw new Error(`kernels-bench/shaders/${file} was not loaded`);
    return text;
  });
  const fma = await registry.get(fmaProbe, null);
  const copy = await registry.get(copyProbe, null);

  // The grid may round threads up; the sink is sized for the real count.
  const [fx, fy] = grid(gpu, size.fmaThreads);
  const fmaThreads = fx * fy * PROBE_WG;
  const sink = gpu.empty([fmaThreads * 4], "f32", "probe_sink");
  const fmaUs = await timeKernel(gpu, fma, () => gpu.dispatch(fma, { sink }, { iters: size.fmaIters, seed: 1e-3 }, [fx, fy]), opts);
  sink.dispose();
  const fmaFlops = fmaThreads * size.fmaIters * FMA_CHAINS * 4 * 2;

  const src = gpu.upload(new Float32Array(size.copyVec4s * 4), [size.copyVec4s * 4], "f32", "probe_src");
  const dst = gpu.empty([size.copyVec4s * 4], "f32", "probe_dst");
  const copyUs = await timeKernel(gpu, copy, () => gpu.dispatch(copy, { src, dst }, { count: size.copyVec4s }, grid(gpu, size.copyVec4s)), opts);
  src.dispose();
  dst.dispose();
  return { fmaGflops: fmaFlops / fmaUs / 1e3, copyGBs: (2 * 16 * size.copyVec4s) / copyUs / 1e3 };
}

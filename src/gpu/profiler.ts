import type { GpuContext } from "./device.ts";

/** Time spent in one kernel label across the profiled dispatches. */
export interface KernelTime {
  label: string;
  calls: number;
  totalMs: number;
}

// WebGPU caps a query set at 4096 queries: 2048 profiled dispatches per read().
const MAX_QUERIES = 4096;

/**
 * Per-dispatch GPU times. With `timestamp-query`, each profiled dispatch gets its own compute pass
 * with begin/end timestamps; without it, each dispatch is submitted alone and timed on the CPU
 * around `onSubmittedWorkDone` (coarser, includes submit overhead — `source` says which).
 */
export class Profiler {
  readonly source: "timestamp-query" | "cpu";
  private querySet?: GPUQuerySet;
  private labels: string[] = [];
  private cpuTimes: { label: string; ms: number }[] = [];

  constructor(private readonly ctx: GpuContext) {
    this.source = ctx.caps.timestamps ? "timestamp-query" : "cpu";
    if (ctx.caps.timestamps) this.querySet = ctx.device.createQuerySet({ type: "timestamp", count: MAX_QUERIES, label: "profiler" });
  }

  /** Timestamp writes for the next dispatch's pass, or undefined when full / unavailable. */
  passTimestamps(label: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet || this.labels.length * 2 + 2 > MAX_QUERIES) return undefined;
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  recordCpu(label: string, ms: number): void {
    this.cpuTimes.push({ label, ms });
  }

  /** Reads and clears the collected times, aggregated per kernel label (slowest first). */
  async read(): Promise<KernelTime[]> {
    const samples: { label: string; ms: number }[] = [...this.cpuTimes];
    if (this.querySet && this.labels.length) {
      const n = this.labels.length * 2;
      const { device } = this.ctx;
      const resolve = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const staging = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      enc.resolveQuerySet(this.querySet, 0, n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, n * 8);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      resolve.destroy();
      this.labels.forEach((label, i) => samples.push({ label, ms: Number(t[2 * i + 1]! - t[2 * i]!) / 1e6 }));
    }
    this.labels = [];
    this.cpuTimes = [];
    const byLabel = new Map<string, KernelTime>();
    for (const s of samples) {
      const k = byLabel.get(s.label) ?? { label: s.label, calls: 0, totalMs: 0 };
      k.calls++;
      k.totalMs += s.ms;
      byLabel.set(s.label, k);
    }
    return [...byLabel.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  destroy(): void {
    this.querySet?.destroy();
  }
}

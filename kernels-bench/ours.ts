/**
 * Runs a case with our ops (src/ops) on a `Gpu`: builds seeded inputs once, then each timed run
 * records the op, waits for the queue, and reads the GPU time from timestamp queries when the
 * adapter has them (gpu.startProfiling / stopProfiling).
 */
import { attention } from "../src/ops/attention.ts";
import { conv2d } from "../src/ops/conv2d.ts";
import { linear } from "../src/ops/linear.ts";
import { uploadQuantizedWeight, disposeQuantizedWeight } from "../src/ops/quant-weight.ts";
import { QUANT_FORMATS } from "../src/quant/formats.ts";
import { packWeight } from "../src/quant/packing.ts";
import { quantizeWeight } from "../src/quant/quantize.ts";
import type { Gpu } from "../src/gpu/runtime.ts";
import type { Tensor } from "../src/gpu/tensor.ts";
import type { BenchDType, CaseShape } from "./cases.ts";
import { seededUniform } from "./random.ts";
import type { PreparedRun } from "./timing.ts";

/** Records the op; returns the tensors it made so the run can release them to the pool. */
type RecordOp = () => Promise<Tensor[]>;

export async function prepareOurs(gpu: Gpu, s: CaseShape, dtype: BenchDType, opts: { gpuTime?: boolean } = {}): Promise<PreparedRun> {
  const inputs: Tensor[] = [];
  const up = (n: number, shape: number[], seed: number, scale = 1) => {
    const t = gpu.upload(seededUniform(n, seed, scale), shape, dtype);
    inputs.push(t);
    return t;
  };
  let record: RecordOp;
  let cleanup = () => {};
  switch (s.op) {
    case "linear": {
      const x = up(s.m * s.k, [s.m, s.k], 1);
      const w = up(s.n * s.k, [s.n, s.k], 2, 1 / Math.sqrt(s.k));
      record = async () => [await linear(gpu, x, w)];
      break;
    }
    case "qlinear": {
      const x = up(s.m * s.k, [s.m, s.k], 1);
      const format = QUANT_FORMATS[s.scheme];
      const packed = packWeight(format, quantizeWeight(seededUniform(s.n * s.k, 2, 1 / Math.sqrt(s.k)), s.n, s.k, format, s.groupSize));
      const w = uploadQuantizedWeight(gpu, packed);
      cleanup = () => disposeQuantizedWeight(w);
      record = async () => [await linear(gpu, x, w)];
      break;
    }
    case "conv3x3": {
      const x = up(s.cin * s.h * s.w, [1, s.cin, s.h, s.w], 1);
      const w = up(s.cout * s.cin * 9, [s.cout, s.cin, 3, 3], 2, 1 / Math.sqrt(9 * s.cin));
      const b = up(s.cout, [s.cout], 3);
      record = async () => [await conv2d(gpu, x, w, b, { stride: 1, padding: 1 })];
      break;
    }
    case "attention": {
      const c = s.heads * s.headDim;
      const q = up(s.lq * c, [1, s.lq, c], 1);
      const k = up(s.lk * c, [1, s.lk, c], 2);
      const v = up(s.lk * c, [1, s.lk, c], 3);
      record = async () => [await attention(gpu, q, k, v, s.heads)];
      break;
    }
  }
  await gpu.sync();
  const timestamps = gpu.ctx.caps.timestamps && opts.gpuTime !== false;
  let runs = 0;
  return {
    // Every other run is profiled and gives the GPU time only; the others give the wall time a user's call costs.
    async once(reps = 1) {
      const profiled = timestamps && runs++ % 2 === 1;
      const t0 = performance.now();
      if (profiled) gpu.startProfiling();
      const outs: Tensor[] = [];
      for (let i = 0; i < reps; i++) outs.push(...(await record()));
      await gpu.sync();
      const wallMs = (performance.now() - t0) / reps;
      const gpuMs = profiled ? (await gpu.stopProfiling()).reduce((sum, k) => sum + k.totalMs, 0) / reps : undefined;
      for (const t of outs) t.dispose();
      return profiled ? { gpuMs } : { wallMs };
    },
    dispose() {
      cleanup();
      for (const t of inputs) t.dispose();
    },
  };
}

import { Gpu } from "../../src/gpu/runtime.ts";

let shared: Promise<Gpu> | undefined;

/**
 * The test device: lavapipe by default (QSCHED_ADAPTER=swiftshader to switch). No adapter is a
 * hard failure — kernel tests never skip. Outputs are poisoned with NaN before kernels write them.
 */
export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create().then((gpu) => {
    gpu.poisonOutputs = true;
    console.log(`[gpu] ${gpu.ctx.describe()}`);
    return gpu;
  });
  return shared;
}

/** Seeded uniform floats in [lo, hi) (xorshift32), for inputs of awkward shapes. */
export function seededFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  }
  return out;
}

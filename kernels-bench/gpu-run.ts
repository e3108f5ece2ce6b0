/**
 * One of our ops as a timed run for timing.ts (Node kernel-against-kernel benches): wall time around the op and
 * gpu.sync(), GPU time as the sum of its dispatches' timestamps; the output is freed after each run.
 */
import type { Gpu } from "../src/gpu/runtime.ts";
import type { Tensor } from "../src/gpu/tensor.ts";
import type { PreparedRun } from "./timing.ts";

export function timedOp(gpu: Gpu, run: () => Promise<Tensor>, dispose: () => void = () => {}): PreparedRun {
  return {
    async once() {
      const t0 = performance.now();
      gpu.startProfiling();
      const y = await run();
      await gpu.sync();
      const wallMs = performance.now() - t0;
      const profile = await gpu.stopProfiling();
      y.dispose();
      return { wallMs, gpuMs: profile.reduce((s, p) => s + p.totalMs, 0) };
    },
    dispose,
  };
}

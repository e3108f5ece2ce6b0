/**
 * Conv cases run by vitest in Node (Dawn + lavapipe) and by the headless Chromium page (SwiftShader): the implicit
 * GEMM split along K (conv2d.wgsl's SPLIT_K + split_k_sum.wgsl), which GPUs take for convs with few output tiles and
 * CPU adapters only when asked. Outputs (the partial sums included) are poisoned with NaN first.
 */
import { conv2d } from "../../src/ops/conv2d.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { assertClose } from "./assert.ts";
import { seeded } from "./random.ts";
import type { KernelCase } from "./foundation.ts";

/** float64 NCHW 3×3 cross-correlation, stride 1, zero padding 1. */
function conv3x3Ref(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, n: number, cin: number, h: number, wd: number, cout: number): Float64Array {
  const y = new Float64Array(n * cout * h * wd);
  for (let b = 0; b < n; b++) for (let co = 0; co < cout; co++) for (let oh = 0; oh < h; oh++) for (let ow = 0; ow < wd; ow++) {
    let acc = bias ? bias[co]! : 0;
    for (let ci = 0; ci < cin; ci++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
      const ih = oh - 1 + ky;
      const iw = ow - 1 + kx;
      if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
      acc += x[((b * cin + ci) * h + ih) * wd + iw]! * w[((co * cin + ci) * 3 + ky) * 3 + kx]!;
    }
    y[((b * cout + co) * h + oh) * wd + ow] = acc;
  }
  return y;
}

export const convCases: KernelCase[] = [
  {
    name: "conv2d implicit GEMM split along K (2, 3 and 5 slices, the last one short) matches float64, with and without bias",
    async run(gpu: Gpu) {
      // K = 13·9 = 117 in 8 tiles of 16: 2 slices of 4 tiles, 3 of 3 (the last 21 k), 5 of 2 (4 slices; asked 5).
      // 2 images of 7×6 and 11 channels: neither pixel nor channel counts are tile multiples.
      const [n, cin, h, w, cout] = [2, 13, 7, 6, 11];
      const xs = seeded(n * cin * h * w, 31);
      const ws = seeded(cout * cin * 9, 32);
      const bs = seeded(cout, 33);
      const x = gpu.upload(xs, [n, cin, h, w]);
      const wt = gpu.upload(ws, [cout, cin, 3, 3]);
      const b = gpu.upload(bs, [cout]);
      for (const bias of [b, null]) {
        const want = conv3x3Ref(xs, ws, bias ? bs : null, n, cin, h, w, cout);
        for (const splitK of [2, 3, 5]) {
          const y = await conv2d(gpu, x, wt, bias, { padding: 1, kernel: "igemm", splitK });
          // f32 sums of 117 products of values in [−1, 1], summed in another order than float64: README bound 1e-5·√K.
          assertClose(await gpu.read(y), want, 1e-5 * Math.sqrt(cin * 9), `${splitK} K slices${bias ? " + bias" : ""}`);
          y.dispose();
        }
      }
      for (const t of [x, wt, b]) t.dispose();
    },
  },
];

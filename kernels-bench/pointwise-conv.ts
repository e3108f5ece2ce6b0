/**
 * `npx vite-node kernels-bench/pointwise-conv.ts [--quick] [--shapes=HWxCINxCOUT,…]`
 * A Transformer2D conv projection (SD 1.5's proj_in: 1×1 conv on NCHW, then to tokens) two ways, timed interleaved
 * (timing.ts), GPU time: the 1×1 conv kernel then the transpose, against the transpose then the linear kernels on the
 * conv's weight viewed [Cout, Cin] (what src/models/unet/transformer2d.ts runs). Prints both, their ratio and the
 * largest difference between their outputs.
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { conv2d } from "../src/ops/conv2d.ts";
import { linear } from "../src/ops/linear.ts";
import { nchwToTokens } from "../src/ops/transpose.ts";
import { timedOp } from "./gpu-run.ts";
import { seededUniform } from "./random.ts";
import { shapesArg } from "./shapes-arg.ts";
import { FULL_TIMING, QUICK_TIMING, timeInterleaved, type Timing } from "./timing.ts";

type Shape = [number, number, number];
// [H = W, Cin, Cout]: SD 1.5's projections at 64², 32², 16² (512² images); quick: the same channels one level down.
const FULL: Shape[] = [[64, 320, 320], [32, 640, 640], [16, 1280, 1280]];
const QUICK: Shape[] = [[32, 320, 320], [16, 640, 640], [8, 1280, 1280]];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const shapes = (shapesArg(args, 3, "HWxCINxCOUT") as Shape[] | undefined) ?? (quick ? QUICK : FULL);

const gpu = await Gpu.create();
console.log(`1×1 conv projections on ${gpu.ctx.describe()}, ${new Date().toISOString()}`);
console.log("shape | conv + transpose (GPU ms) | transpose + linear (GPU ms) | × | max |Δ|");

for (const [hw, cin, cout] of shapes) {
  const x = gpu.upload(seededUniform(cin * hw * hw, 1), [1, cin, hw, hw]);
  const w = gpu.upload(seededUniform(cout * cin, 2, 1 / Math.sqrt(cin)), [cout, cin, 1, 1]);
  const b = gpu.upload(seededUniform(cout, 3), [cout]);
  const convFirst = async () => {
    const p = await conv2d(gpu, x, w, b, { stride: 1, padding: 0 });
    const t = await nchwToTokens(gpu, p);
    p.dispose();
    return t;
  };
  const tokensFirst = async () => {
    const t = await nchwToTokens(gpu, x);
    const y = await linear(gpu, t, w.view([cout, cin]), b);
    t.dispose();
    return y;
  };
  const [ya, yb] = [await gpu.read(await convFirst()), await gpu.read(await tokensFirst())];
  const diff = ya.reduce((m, v, i) => Math.max(m, Math.abs(v - yb[i]!)), 0);
  const [tc, tl] = await timeInterleaved([timedOp(gpu, convFirst), timedOp(gpu, tokensFirst)], quick ? QUICK_TIMING : FULL_TIMING);
  const ms = (t: Timing | Error | undefined) => (t instanceof Error || !t ? NaN : (t.gpuUs ?? t.wallUs) / 1000);
  console.log(`${hw}² ${cin}→${cout} | ${ms(tc).toFixed(2)} | ${ms(tl).toFixed(2)} | ${(ms(tc) / ms(tl)).toFixed(2)} | ${diff.toExponential(1)}`);
  for (const t of [x, w, b]) t.dispose();
}
process.exit(0);

/**
 * `npx vite-node kernels-bench/attention-kernels.ts [--quick] [--rows=1,2,4|none] [--queries=shared,restaged,storage] [--shapes=1024x1024x8x80,256x256x8x160]`
 * The tiled flash kernel (attention.wgsl) against the barrier-free rows kernel (attention_rows.wgsl) on the UNet's
 * attention shapes, timed interleaved run by run (timing.ts), with the largest difference between their outputs.
 * `--queries`: the tiled kernel also with each of these query tiles that fits the adapter (`tiled` = its default).
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { attention, attentionWorkgroupBytes, type AttentionOptions, type AttentionQueryTile } from "../src/ops/attention.ts";
import { hasCpuSubgroupKernels } from "../src/ops/matmul-kernel.ts";
import { seededUniform } from "./random.ts";
import { shapesArg } from "./shapes-arg.ts";
import { timedOp } from "./gpu-run.ts";
import { FULL_TIMING, QUICK_TIMING, timeInterleaved, type Timing } from "./timing.ts";

// [Lq, Lk, heads, head dim]: SD-Turbo self-attention at 32² and 16², cross-attention over 77 tokens, SD1.5's d = 40,
// 80 and 160, and the toy's heads.
type Shape = [number, number, number, number];
const FULL: Shape[] = [[1024, 1024, 5, 64], [256, 256, 5, 64], [1024, 77, 5, 64], [1024, 1024, 8, 40], [1024, 1024, 8, 80], [256, 256, 8, 160], [256, 256, 2, 24]];
const QUICK: Shape[] = [[256, 256, 5, 64], [256, 77, 5, 64]];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const shapes = (shapesArg(args, 4, "LqxLkxHEADSxD") as Shape[] | undefined) ?? (quick ? QUICK : FULL);
const rowsArg = args.find((a) => a.startsWith("--rows="))?.slice(7);
const rowsList = rowsArg === "none" ? [] : (rowsArg?.split(",") ?? ["2"]).map(Number);
const queryTiles = (args.find((a) => a.startsWith("--queries="))?.slice(10).split(",") ?? []) as AttentionQueryTile[];
const gpu = await Gpu.create();
console.log(`attention kernels on ${gpu.ctx.describe()}, ${new Date().toISOString()}`);
console.log("shape | kernel | GPU µs | GFLOP/s | × tiled | max |Δ| vs tiled");
for (const [lq, lk, heads, d] of shapes) {
  const w = heads * d;
  const q = gpu.upload(seededUniform(lq * w, 1), [1, lq, w]);
  const k = gpu.upload(seededUniform(lk * w, 2), [1, lk, w]);
  const v = gpu.upload(seededUniform(lk * w, 3), [1, lk, w]);
  const flops = 4 * lq * lk * w;
  const fits = (m: AttentionQueryTile) => attentionWorkgroupBytes(d, m) <= gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
  const tiled: [string, AttentionOptions][] = queryTiles.filter(fits).map((queries) => [`tiled_${queries}`, { kernel: "tiled", queries }]);
  const variants: [string, AttentionOptions][] = [["tiled", { kernel: "tiled" }], ...tiled, ...rowsList.flatMap((rows) => [[`rows${rows}`, { kernel: "rows", rows, sgShare: false }], ...(hasCpuSubgroupKernels(gpu) ? [[`rows${rows}_sg`, { kernel: "rows", rows, sgShare: true }]] : [])] as [string, AttentionOptions][])];
  const ref = await gpu.read(await attention(gpu, q, k, v, heads, { kernel: "tiled" }));
  const diffs: number[] = [];
  for (const [, opts] of variants) {
    const y = await gpu.read(await attention(gpu, q, k, v, heads, opts));
    diffs.push(y.reduce((mx, x, i) => Math.max(mx, Math.abs(x - ref[i]!)), 0));
  }
  const runs = variants.map(([, opts]) => timedOp(gpu, () => attention(gpu, q, k, v, heads, opts)));
  const times = await timeInterleaved(runs, quick ? QUICK_TIMING : FULL_TIMING);
  const us = (t: Timing | Error) => (t instanceof Error ? NaN : t.gpuUs ?? t.wallUs);
  const shape = `${lq}x${lk} ${heads}x${d}`;
  variants.forEach(([name], i) => {
    const t = times[i]!;
    if (t instanceof Error) return console.log(`${shape} | ${name} | error: ${t.message}`);
    console.log(`${shape} | ${name} | ${us(t).toFixed(0)} | ${(flops / us(t) / 1e3).toFixed(2)} | ${(us(times[0]!) / us(t)).toFixed(2)} | ${diffs[i]!.toExponential(1)}`);
  });
  for (const t of [q, k, v]) t.dispose();
}

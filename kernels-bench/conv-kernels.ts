/**
 * `npx vite-node kernels-bench/conv-kernels.ts [--quick] [--only=<id substring>,…] [--kernels=igemm,igemm/s1,igemm/s4,rows,winograd,cpuR16w32,…] [--no-tfjs]`
 * (`igemm/sN`: the implicit GEMM in N K slices, `igemm/s1` unsplit; plain `igemm` splits as conv2d does on the
 * adapter: never on CPU adapters, by src/ops/split-k.ts's rule on GPUs. GPU µs include the split's sum pass.)
 * Our conv kernels against each other (and tfjs) on one shape at a time, timed interleaved run by run
 * (timing.ts) so machine load hits them alike: the implicit GEMM (conv2d.wgsl), the barrier-free rows kernel
 * (conv2d_rows.wgsl), Winograd F(2×2, 3×3) (3×3 stride 1 only; conv2d-winograd.ts, transforms and GEMMs together) and
 * the CPU-adapter variants (conv2d_cpu.wgsl). Rows: the bench's 3×3 cases plus a stride-2 downsampler and a 1×1
 * shortcut (ours only: the tfjs peer runs 3×3 stride 1). Prints GPU µs (timestamps), wall µs,
 * GFLOP/s, ×igemm (GPU time) and ×tfjs (wall over wall, as the bench compares peers).
 */
import { Gpu } from "../src/gpu/runtime.ts";
import { CONV2D_CPU_VARIANTS, conv2d, type Conv2dKernelChoice } from "../src/ops/conv2d.ts";
import { createTfjsPeer } from "./peers/tfjs.ts";
import { seededUniform } from "./random.ts";
import { FULL_TIMING, QUICK_TIMING, timeInterleaved, type PreparedRun, type Timing } from "./timing.ts";

interface ConvRow { id: string; h: number; w: number; cin: number; cout: number; k: 1 | 3; stride: 1 | 2 }
const conv = (id: string, h: number, cin: number, cout: number, k: 1 | 3 = 3, stride: 1 | 2 = 1): ConvRow => ({ id, h, w: h, cin, cout, k, stride });
const FULL: ConvRow[] = [
  conv("conv3x3_320_64", 64, 320, 320),
  conv("conv3x3_640_32", 32, 640, 640),
  conv("conv3x3s2_320_64", 64, 320, 320, 3, 2),
  conv("conv1x1_320_640_32", 32, 320, 640, 1),
  conv("conv3x3_1280_16", 16, 1280, 1280),
  conv("conv3x3_1280_8", 8, 1280, 1280),
];
const QUICK: ConvRow[] = [
  conv("conv3x3_320_16", 16, 320, 320),
  conv("conv3x3s2_320_32", 32, 320, 320, 3, 2),
  conv("conv1x1_320_640_16", 16, 320, 640, 1),
];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const kernels = args.find((a) => a.startsWith("--kernels="))?.slice(10).split(",") ?? ["igemm", "rows", ...Object.keys(CONV2D_CPU_VARIANTS)];

const outSize = (r: ConvRow) => Math.floor((r.h + 2 * ((r.k - 1) / 2) - r.k) / r.stride) + 1;
const flops = (r: ConvRow) => 2 * outSize(r) ** 2 * r.cout * r.cin * r.k * r.k;

function prepareOurs(gpu: Gpu, r: ConvRow, entry: string): PreparedRun {
  const [kernel, slices] = entry.split("/s") as [Conv2dKernelChoice, string | undefined];
  const splitK = slices === undefined ? undefined : Number(slices);
  const x = gpu.upload(seededUniform(r.cin * r.h * r.w, 1), [1, r.cin, r.h, r.w]);
  const w = gpu.upload(seededUniform(r.cout * r.cin * r.k * r.k, 2, 1 / Math.sqrt(r.k * r.k * r.cin)), [r.cout, r.cin, r.k, r.k]);
  const b = gpu.upload(seededUniform(r.cout, 3), [r.cout]);
  return {
    async once() {
      const t0 = performance.now();
      gpu.startProfiling();
      const y = await conv2d(gpu, x, w, b, { stride: r.stride, padding: (r.k - 1) / 2, kernel, splitK });
      await gpu.sync();
      const wallMs = performance.now() - t0;
      const profile = await gpu.stopProfiling();
      // The label says which kernel ran (a CPU variant falls back to the implicit GEMM where it does not fit).
      const want = kernel === "igemm" ? "conv2d_igemm" : kernel === "rows" ? "conv2d_rows" : kernel === "winograd" ? "winograd_input" : `conv2d_cpu_${kernel}`;
      if (!profile.some((p) => p.label.startsWith(want))) throw new Error(`${kernel} did not run: ${profile.map((p) => p.label).join(", ")}`);
      y.dispose();
      return { wallMs, gpuMs: profile.reduce((s, p) => s + p.totalMs, 0) };
    },
    dispose: () => [x, w, b].forEach((t) => t.dispose()),
  };
}

const gpu = await Gpu.create();
const tfjs = args.includes("--no-tfjs") ? null : await createTfjsPeer();
console.log(`conv kernels on ${gpu.ctx.describe()}, ${new Date().toISOString()}`);
console.log("case | kernel | GPU µs | wall µs | GFLOP/s | ×igemm | ×tfjs (wall)");
for (const r of (quick ? QUICK : FULL).filter((c) => !only || only.some((o) => c.id.includes(o)))) {
  // Winograd is for 3×3 stride 1 only.
  const rowKernels = kernels.filter((k) => k !== "winograd" || (r.k === 3 && r.stride === 1));
  const runs = rowKernels.map((k) => prepareOurs(gpu, r, k));
  const peer = tfjs && r.k === 3 && r.stride === 1 ? await tfjs.prepare({ op: "conv3x3", h: r.h, w: r.w, cin: r.cin, cout: r.cout }) : undefined;
  const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
  const results = await timeInterleaved(peer ? [...runs, peer] : runs, quick ? QUICK_TIMING : FULL_TIMING);
  [...runs, ...(peer ? [peer] : [])].forEach((p) => p.dispose());
  const us = (t: Timing | Error) => (t instanceof Error ? NaN : t.gpuUs ?? t.wallUs);
  const base = rowKernels.indexOf("igemm") >= 0 ? us(results[rowKernels.indexOf("igemm")]!) : NaN;
  const tf = peer ? results[results.length - 1]! : undefined;
  rowKernels.forEach((k, i) => {
    const t = results[i]!;
    if (t instanceof Error) return console.log(`${r.id} | ${k} | error: ${t.message}`);
    const ratioTf = tf && !(tf instanceof Error) ? (tf.wallUs / t.wallUs).toFixed(2) : "";
    console.log(`${r.id} | ${k} | ${us(t).toFixed(0)} | ${t.wallUs.toFixed(0)} | ${(flops(r) / us(t) / 1e3).toFixed(2)} | ${(base / us(t)).toFixed(2)} | ${ratioTf}`);
  });
  if (tf) console.log(`${r.id} | tfjs | | ${tf instanceof Error ? tf.message : tf.wallUs.toFixed(0)} | | | (load ${load} at start)`);
}
process.exit(0);

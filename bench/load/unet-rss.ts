/**
 * Peak RSS while a pipeline folder's UNet loads through `loadUnet` (the fromPretrained path):
 * `vite-node bench/load/unet-rss.ts -- <pipeline-folder> [f32|f16] [w4a8|...]`. RSS is sampled
 * every 20 ms; on lavapipe GPU buffers live in host memory too, so the weights' own bytes are part
 * of the figure — compare it with the UNet's GPU bytes, printed alongside.
 */
import { folderSource } from "../../src/platform/node.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { loadUnet } from "../../src/pipeline/load-unet.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";

const args = process.argv.slice(2).filter((a) => a !== "--");
const [folder, dtype = "f32", quant] = args as [string, "f32" | "f16", QuantScheme | undefined];
if (!folder) throw new Error("usage: unet-rss.ts <pipeline-folder> [f32|f16] [quant]");
const gpu = await Gpu.create();
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const t0 = performance.now();
const { unet } = await loadUnet(gpu, await folderSource(folder), { quant, unetOptions: { dtype } });
await gpu.device.queue.onSubmittedWorkDone();
const s = (performance.now() - t0) / 1000;
peak = Math.max(peak, process.memoryUsage().rss);
clearInterval(timer);
const gpuBytes = gpu.pool.live;
console.log(`${folder} ${dtype} ${quant ?? "float"}: load ${s.toFixed(1)} s, RSS before ${mib(rss0)} MiB, peak ${mib(peak)} MiB (+${mib(peak - rss0)}), GPU bytes ${mib(gpuBytes)} MiB, peak − start − GPU = ${mib(peak - rss0 - gpuBytes)} MiB`);
unet.dispose();

process.exit(0);

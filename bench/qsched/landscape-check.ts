/**
 * Reproduction check (not a test): our W4A8 pipeline + GPU CLIP scorer against the toy model card's PyTorch landscape
 * (8 prompts, seeds 100–107) at a few (m, s) points. Run: `npx vite-node bench/qsched/landscape-check.ts`.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Gpu } from "../../src/gpu/runtime.ts";
import { loadClipScorer } from "../../src/calibration/clip-scorer.ts";
import { JaqEvaluator } from "../../src/calibration/image-scorer.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
const TOY = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "models", "toy-shapes");
const d = JSON.parse(readFileSync(join(TOY, "landscapes", "w4a8_steps4_g2.0_9x9_p8.json"), "utf8"));
const scorer = await loadClipScorer(await Gpu.create(), join(TOY, "clip-scorer"), TOY);
const ev = new JaqEvaluator(scorer, d.prompts);
const pipe = await QSchedPipeline.fromPretrained(TOY, { quant: "w4a8" });
for (const [m, s] of [[1, 1], [0.9, 0.9], [0.95, 0.9], [1.1, 0.95]]) {
  pipe.setQSched({ m, s });
  const t = performance.now();
  const imgs: import("../../src/pipeline/types.ts").GeneratedImage[] = [];
  for (const [i, p] of d.prompts.entries()) imgs.push((await pipe.generate({ prompt: p, seed: d.seeds[i], steps: 4, guidanceScale: 2 })).images[0]!);
  const ms = (performance.now() - t) / imgs.length;
  const r = await ev.score(imgs);
  const im = d.axes.m.findIndex((x: number) => Math.abs(x - m) < 1e-9), is = d.axes.s.findIndex((x: number) => Math.abs(x - s) < 1e-9);
  console.log(`(${m}, ${s}) ours JAQ ${r.jaq.toFixed(4)} CS ${r.clipScore.toFixed(2)} IQA ${r.meanClipIqa.toFixed(4)} | landscape JAQ ${d.jaq[im][is].toFixed(4)} CS ${d.clip_score[im][is].toFixed(2)} IQA ${d.clip_iqa[im][is].toFixed(4)} | ${ms.toFixed(0)} ms/img`);
}
process.exit(0); // the WebGPU device would keep Node alive

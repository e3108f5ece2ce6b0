/**
 * Dedicated worker of the web-app's "Calibrate" panel: loads the pipeline and the CLIP scorer on its own WebGPU
 * device (WebGPU is available in workers), runs `calibrate()` and posts progress and every scored point back.
 * The page cancels by terminating the worker, which drops the device and everything on it.
 */
import { calibrate } from "../../src/calibration/calibrate.ts";
import { loadClipScorer } from "../../src/calibration/clip-scorer.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { serializeCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { fileListSource } from "../../src/weights/sources/file-list-source.ts";
import type { CalibrateMessage, CalibrateRequest } from "./calibrate-protocol.ts";

const post = (m: CalibrateMessage) => (self as unknown as Worker).postMessage(m);

async function run(req: CalibrateRequest): Promise<void> {
  const t0 = performance.now();
  post({ type: "status", text: `loading ${req.quant} pipeline…` });
  const model = "url" in req.model ? req.model.url : fileListSource(req.model.files, req.model.label, req.model.paths);
  const modelName = typeof model === "string" ? model : model.label;
  const pipe = await QSchedPipeline.fromPretrained(model, { quant: req.quant });
  try {
    post({ type: "status", text: "loading CLIP scorer…" });
    const scorer = await loadClipScorer(pipe.gpu, req.clipUrl, { textTowerFolder: model });
    try {
      post({ type: "status", text: `calibrating on ${pipe.gpu.ctx.describe()}…` });
      const t1 = performance.now();
      const result = await calibrate({
        model: modelName,
        scheme: req.quant,
        steps: req.steps,
        prompts: req.prompts,
        search: req.search,
        budget: req.budget,
        scorer,
        generate: async (m, s, prompt, seed) => {
          pipe.setQSched({ m, s });
          const r = await pipe.generate({ prompt, seed, steps: req.steps, guidanceScale: req.guidanceScale, keepRgba: true });
          return { ...r.images[0]!, rgba: r.rgba };
        },
        onProgress: (p) => {
          // Progress counts images, and every image costs about the same (same steps and size), so the mean time per
          // image so far predicts the rest of the budget (an upper bound: the search may stop a few images short).
          const etaMs = p.done < p.planned ? ((performance.now() - t1) / p.done) * (p.planned - p.done) : 0;
          post({ type: "progress", done: p.done, planned: p.planned, candidates: p.candidates, point: p.point, best: p.best, elapsedMs: p.elapsedMs, etaMs });
        },
      });
      const q = result.coefficients.qsched as { m: number; s: number };
      post({ type: "result", m: q.m, s: q.s, jaq: result.coefficients.calibration!.score, landscape: result.landscape, file: serializeCoefficientFile(req.quant === "none" ? result.coefficients : { ...result.coefficients, policy: "torchao" }), ms: performance.now() - t0 });
    } finally {
      scorer.dispose();
    }
  } finally {
    pipe.dispose();
  }
}

self.onmessage = (e: MessageEvent<CalibrateRequest>) => {
  if (e.data?.type !== "start") return;
  run(e.data).catch((err: Error) => post({ type: "error", message: err.stack ?? err.message }));
};

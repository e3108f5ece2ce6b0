/**
 * The web-app example: a static page (no framework) that loads a pipeline from a URL or from picked
 * files, generates with the chosen seed/steps/quantization/Q-Sched, shows progress per step and
 * draws the image. `window.__qsched` exposes the last result for the headless Chromium test.
 */
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { GenerateResult, QuantScheme } from "../../src/pipeline/types.ts";
import "./calibrate-panel.ts";
import { numberField, qschedField, urlField } from "./fields.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($("status").textContent = s);

let pipe: QSchedPipeline | undefined;
let loadedKey = "";
/** Counts folder picks (each one is another model, whatever its files are called). */
let filesPicked = 0;
$("model-files").addEventListener("change", () => filesPicked++);
$("model-files-clear").addEventListener("click", () => {
  $<HTMLInputElement>("model-files").value = "";
  filesPicked++;
});

declare global {
  interface Window {
    __qsched?: { done: boolean; error?: string; width?: number; height?: number; rgba?: number[]; adapter?: string; ms?: number };
  }
}

function drawImage(canvas: HTMLCanvasElement, img: GenerateResult["images"][number]): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}

async function run(): Promise<void> {
  window.__qsched = { done: false };
  $("error").textContent = "";
  $("previews").replaceChildren();
  // Every setting is read at the click, before a (possibly long) load: the run uses what was on screen then.
  const files = $<HTMLInputElement>("model-files").files;
  const url = urlField("model-url", "Model URL");
  const quant = $<HTMLSelectElement>("quant").value as QuantScheme;
  const { m, s } = qschedField("qsched");
  const prompt = $<HTMLInputElement>("prompt").value;
  const seed = numberField("seed", "Seed");
  const steps = numberField("steps", "Steps");
  const guidanceScale = numberField("guidance", "Guidance");
  // A picked folder is told apart from the next one by its pick, not by its (absent) URL.
  const key = `${files?.length ? `files#${filesPicked}` : url}|${quant}`;
  if (!pipe || key !== loadedKey) {
    // The old pipeline goes first (two models may not fit together); if the new load fails, none is loaded.
    pipe?.dispose();
    pipe = undefined;
    loadedKey = "";
    status("loading model…");
    pipe = await QSchedPipeline.fromPretrained(files?.length ? files : url, {
      quant,
      onProgress: (p) => status(`loading ${p.component}: ${(p.bytesDone / 2 ** 20).toFixed(1)} MiB`),
    });
    loadedKey = key;
  }
  pipe.setQSched({ m, s });
  const progress = $<HTMLProgressElement>("progress");
  progress.max = steps;
  progress.value = 0;
  const t0 = performance.now();
  const res = await pipe.generate({
    prompt,
    seed,
    steps,
    guidanceScale,
    preview: true,
    onStep: (e) => {
      // The step's x0 prediction, decoded (TAESD if loaded, else the VAE): one small canvas per step.
      const canvas = document.createElement("canvas");
      canvas.title = `step ${e.step}`;
      drawImage(canvas, e.preview![0]!);
      $("previews").append(canvas);
      progress.value = e.step;
      status(`step ${e.step}/${e.steps} (${e.elapsedMs.toFixed(0)} ms)`);
    },
  });
  const img = res.images[0]!;
  drawImage($<HTMLCanvasElement>("output"), img);
  const ms = performance.now() - t0;
  status(`done in ${ms.toFixed(0)} ms on ${pipe.gpu.ctx.describe()}`);
  window.__qsched = { done: true, width: img.width, height: img.height, rgba: Array.from(img.data), adapter: pipe.gpu.ctx.describe(), ms };
}

$("generate").addEventListener("click", () => {
  // One run at a time from this page (the library would queue a second one, but its previews and status would
  // interleave with the first's).
  const button = $<HTMLButtonElement>("generate");
  button.disabled = true;
  run()
    .catch((e: Error) => {
      $("error").textContent = e.message;
      status("failed");
      $<HTMLProgressElement>("progress").value = 0;
      window.__qsched = { done: true, error: e.message };
    })
    .finally(() => (button.disabled = false));
});

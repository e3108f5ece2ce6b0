/**
 * The web-app example: a static page (no framework) that loads a pipeline from a URL or from picked
 * files, generates with the chosen seed/steps/quantization/Q-Sched, shows progress per step and
 * draws the image. `window.__qsched` exposes the last result for the headless Chromium test.
 */
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { GenerateResult, QuantScheme } from "../../src/pipeline/types.ts";
import "./calibrate-panel.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($("status").textContent = s);

let pipe: QSchedPipeline | undefined;
let loadedKey = "";

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
  const files = $<HTMLInputElement>("model-files").files;
  const url = new URL($<HTMLInputElement>("model-url").value, location.href).toString();
  const quant = $<HTMLSelectElement>("quant").value as QuantScheme;
  const [m, s] = $<HTMLInputElement>("qsched").value.split(",").map(Number);
  if (!Number.isFinite(m) || !Number.isFinite(s)) throw new Error(`Q-Sched must be "m, s" (two numbers)`);
  const key = `${files?.length ? "files" : url}|${quant}`;
  if (!pipe || key !== loadedKey) {
    pipe?.dispose();
    status("loading model…");
    pipe = await QSchedPipeline.fromPretrained(files?.length ? files : url, {
      quant,
      onProgress: (p) => status(`loading ${p.component}: ${(p.bytesDone / 2 ** 20).toFixed(1)} MiB`),
    });
    loadedKey = key;
  }
  pipe.setQSched({ m: m!, s: s! });
  const steps = Number($<HTMLInputElement>("steps").value);
  const progress = $<HTMLProgressElement>("progress");
  progress.max = steps;
  progress.value = 0;
  $("previews").replaceChildren();
  const t0 = performance.now();
  const res = await pipe.generate({
    prompt: $<HTMLInputElement>("prompt").value,
    seed: Number($<HTMLInputElement>("seed").value),
    steps,
    guidanceScale: Number($<HTMLInputElement>("guidance").value),
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
      window.__qsched = { done: true, error: e.message };
    })
    .finally(() => (button.disabled = false));
});

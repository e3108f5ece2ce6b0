/**
 * The web-app's "Calibrate" panel: runs Q-Sched calibration (src/calibration, fast search by default) for the
 * model, quantization, steps and guidance chosen above, in a dedicated worker so the page stays responsive. Each
 * scored point is drawn into the (m, s) heatmap as it arrives (same colours and markers as `qsched-gpu calibrate
 * --heatmap`); the result can be applied to the Q-Sched control or downloaded as a coefficient file.
 * `window.__qschedCalibration` mirrors the state for the headless Chromium test.
 */
import type { LandscapePoint } from "../../src/calibration/calibrate.ts";
import { renderHeatmap } from "../../src/calibration/heatmap.ts";
import { DEFAULT_CALIBRATION_PROMPTS } from "../../src/calibration/prompts.ts";
import { fastDefaultBudget, fastMinBudget, REFERENCE_GRID_POINTS } from "../../src/calibration/search/fast.ts";
import { DEFAULT_BOX } from "../../src/calibration/search/types.ts";
import { stepsOrGuidanceProblem } from "../../src/pipeline/generate-options.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";
import type { CalibrateMessage, CalibrateModel, CalibrateRequest } from "./calibrate-protocol.ts";
import { numberField, urlField } from "./fields.ts";

interface CalibrationState {
  state: "running" | "done" | "error" | "cancelled";
  /** The prompts and settings sent to the worker. */
  request: CalibrateRequest;
  progress: { done: number; planned: number; etaMs?: number }[];
  points: LandscapePoint[];
  result?: { m: number; s: number; jaq: number; file: string; ms: number };
  error?: string;
}

declare global {
  interface Window {
    __qschedCalibration?: CalibrationState;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($("cal-status").textContent = s);
const trimSlash = (u: string) => u.replace(/\/+$/, "");

let worker: Worker | undefined;
let downloadUrl: string | undefined;

function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

function drawHeatmap(points: readonly LandscapePoint[], chosen?: { m: number; s: number }): void {
  const canvas = $<HTMLCanvasElement>("cal-heatmap");
  // The whole search box from the first point on, so cells do not jump while the map fills.
  const img = renderHeatmap(points, { box: DEFAULT_BOX, size: canvas.width, chosen });
  canvas.getContext("2d")!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}

function finish(state: CalibrationState["state"]): void {
  worker?.terminate();
  worker = undefined;
  window.__qschedCalibration!.state = state;
  $<HTMLButtonElement>("calibrate").disabled = false;
  $<HTMLButtonElement>("cal-cancel").disabled = true;
}

/** Prompts the panel calibrates on: the first `cal-prompts` of the built-in set (clamped to 1…25). */
function promptCount(): number {
  const count = Math.round(Number($<HTMLInputElement>("cal-prompts").value));
  return Math.max(1, Math.min(Number.isFinite(count) ? count : 1, DEFAULT_CALIBRATION_PROMPTS.length));
}

/** Set once the user types a budget, so changing the prompt count no longer replaces it with the new default. */
let budgetEdited = false;

/**
 * The fast search's budget counts images (one per candidate per prompt), like `qsched-gpu calibrate --budget`, so its
 * default (10 % of the 9×9 grid's 81·P) and minimum depend on the prompt count: both come from the search module.
 */
function syncBudgetField(): void {
  const p = promptCount();
  const input = $<HTMLInputElement>("cal-budget");
  const min = fastMinBudget(p);
  input.min = String(min.generations);
  if (!budgetEdited) input.value = String(fastDefaultBudget(p));
  $("cal-budget-hint").textContent = `images; default ${fastDefaultBudget(p)} (10 % of the 9×9 grid's ${REFERENCE_GRID_POINTS * p}), at least ${min.generations}: ${min.detail}`;
}

/** The budget to send, or the reason it cannot be used (expected vs found). */
function readBudget(search: "fast" | "grid", prompts: number): { budget?: number; error?: string } {
  // The grid always scores its whole 9×9 grid on every prompt; calibrate() defaults to exactly that.
  if (search === "grid") return {};
  const raw = $<HTMLInputElement>("cal-budget").value.trim();
  const budget = Number(raw);
  const min = fastMinBudget(prompts);
  if (raw === "" || !Number.isInteger(budget)) return { error: `budget must be a whole number of images, found "${raw}"` };
  if (budget < min.generations) return { error: `budget of ${budget} images is too small for ${prompts} prompt${prompts === 1 ? "" : "s"}: the fast search needs at least ${min.generations} (${min.detail})` };
  return { budget };
}

/** The picked folder, as the main page loads it (it wins over the URL there too), or null when none is picked. */
function pickedModel(): CalibrateModel | null {
  const files = Array.from($<HTMLInputElement>("model-files").files ?? []);
  if (!files.length) return null;
  const paths = files.map((f) => f.webkitRelativePath || f.name);
  const folder = paths[0]!.includes("/") ? paths[0]!.split("/")[0] : "selected files";
  return { files, paths, label: `picked folder ${folder}` };
}

/** The request for the settings on screen, or the reason there is none (checked before the worker loads anything). */
function readRequest(): CalibrateRequest {
  const count = promptCount();
  const search = $<HTMLSelectElement>("cal-search").value as "fast" | "grid";
  const budget = readBudget(search, count);
  if (budget.error) throw new Error(budget.error);
  const steps = numberField("steps", "Steps");
  const guidanceScale = numberField("guidance", "Guidance");
  // generate()'s own bounds, checked here so a bad value is refused before the worker loads two models.
  const problem = stepsOrGuidanceProblem(steps, guidanceScale);
  if (problem) throw new Error(problem);
  return {
    type: "start",
    model: pickedModel() ?? { url: trimSlash(urlField("model-url", "Model URL")) },
    clipUrl: trimSlash(urlField("cal-clip", "CLIP scorer URL")),
    quant: $<HTMLSelectElement>("quant").value as QuantScheme,
    steps,
    guidanceScale,
    prompts: DEFAULT_CALIBRATION_PROMPTS.slice(0, count),
    search,
    budget: budget.budget,
  };
}

function start(): void {
  let req: CalibrateRequest;
  try {
    req = readRequest();
  } catch (e) {
    const message = (e as Error).message;
    status(`error: ${message}`);
    // A refused start keeps the last result (Apply and Download stay as they were).
    const last = window.__qschedCalibration?.result;
    window.__qschedCalibration = { state: "error", request: { type: "start" } as CalibrateRequest, progress: [], points: [], error: message, ...(last ? { result: last } : {}) };
    return;
  }
  const state: CalibrationState = { state: "running", request: req, progress: [], points: [] };
  window.__qschedCalibration = state;
  $<HTMLButtonElement>("calibrate").disabled = true;
  $<HTMLButtonElement>("cal-cancel").disabled = false;
  $<HTMLButtonElement>("cal-apply").disabled = true;
  $("cal-download").hidden = true;
  $("cal-log").textContent = "";
  const progress = $<HTMLProgressElement>("cal-progress");
  progress.value = 0;
  progress.max = req.budget ?? REFERENCE_GRID_POINTS * req.prompts.length;
  $<HTMLCanvasElement>("cal-heatmap").getContext("2d")!.clearRect(0, 0, 9999, 9999);

  worker = new Worker(new URL("./calibrate-worker.js", import.meta.url), { type: "module", name: "qsched-calibrate" });
  worker.onerror = (e) => {
    state.error = e.message || "worker failed to start";
    status(`error: ${state.error}`);
    finish("error");
  };
  worker.onmessage = (e: MessageEvent<CalibrateMessage>) => {
    const msg = e.data;
    if (msg.type === "status") status(msg.text);
    else if (msg.type === "progress") {
      state.progress.push({ done: msg.done, planned: msg.planned, etaMs: msg.etaMs });
      state.points.push(msg.point);
      progress.max = msg.planned;
      progress.value = msg.done;
      const p = msg.point;
      const best = msg.best ? `; best (${msg.best.m.toFixed(2)}, ${msg.best.s.toFixed(2)}) ${msg.best.jaq.toFixed(4)}` : "";
      status(`${msg.done} of ${msg.planned} images, ${msg.candidates} candidates${msg.etaMs ? `, at most about ${formatMs(msg.etaMs)} left` : ""}${best}`);
      $("cal-log").textContent += `${msg.done}/${msg.planned} images: m=${p.m.toFixed(2)} s=${p.s.toFixed(2)} on ${p.prompts} prompt${p.prompts === 1 ? "" : "s"}: ${p.failed ? "failed" : `JAQ ${p.jaq!.toFixed(4)}`}\n`;
      drawHeatmap(state.points);
    } else if (msg.type === "result") {
      state.result = { m: msg.m, s: msg.s, jaq: msg.jaq, file: msg.file, ms: msg.ms };
      drawHeatmap(msg.landscape, { m: msg.m, s: msg.s });
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(new Blob([msg.file], { type: "application/json" }));
      const a = $<HTMLAnchorElement>("cal-download");
      a.href = downloadUrl;
      a.hidden = false;
      $<HTMLButtonElement>("cal-apply").disabled = false;
      status(`chose (m, s) = (${msg.m}, ${msg.s}), JAQ ${msg.jaq.toFixed(4)}, in ${formatMs(msg.ms)}`);
      finish("done");
    } else if (msg.type === "error") {
      state.error = msg.message;
      // The first line of the worker's message, without a stack-trace "Error: " prefix.
      status(`error: ${msg.message.split("\n")[0]!.replace(/^\w*Error: /, "")}`);
      finish("error");
    }
  };
  worker.postMessage(req);
}

$("cal-prompts").addEventListener("input", syncBudgetField);
$("cal-budget").addEventListener("input", () => (budgetEdited = true));
syncBudgetField();
$("calibrate").addEventListener("click", start);
$("cal-cancel").addEventListener("click", () => {
  if (!worker) return;
  status("cancelled");
  finish("cancelled");
});
$("cal-apply").addEventListener("click", () => {
  const r = window.__qschedCalibration?.result;
  if (r) $<HTMLInputElement>("qsched").value = `${r.m}, ${r.s}`;
});

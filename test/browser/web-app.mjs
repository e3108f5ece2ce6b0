#!/usr/bin/env node
// The web-app example in headless Chromium (SwiftShader).
// 1. Generation: generates with the embedded toy model and compares the canvas pixels with the Node (Dawn) result
//    for the same seed and settings. Different adapters round float32 math differently (FMA contraction, exp/sin
//    accuracy), so the bound is on bytes: ≥ 99.5 % of RGB bytes within ±1 and none off by more than 8 (measured on
//    SwiftShader vs lavapipe: 100 % within ±1, worst 1).
// 2. Calibration panel: a small W4A8 calibration (2 prompts, 2 steps, no CFG, fast search with its minimum budget,
//    which the page's budget field takes from the search module: 7 images = 6 candidates screened on the first
//    prompt, 1 finalist on the second) in the page's worker; checks that the field's minimum is the one
//    `qsched-gpu calibrate --budget` enforces (one image fewer is refused by both, with a message), progress messages
//    in images, the heatmap canvas, that (m, s) equals what `qsched-gpu calibrate` chooses in Node for the same
//    settings, the download, "apply", the same calibration from a picked folder (files with webkitRelativePath, as a
//    folder pick gives them), and cancel.
//    With budget 7 the answer is the one finalist, the screened candidate with the best surrogate mean.
//    The Node calibration runs on SwiftShader too (QSCHED_ADAPTER=swiftshader loads Chromium's own Vulkan driver), so
//    both run the same kernels with the same arithmetic and every candidate's JAQ must agree (measured: identical).
//    Across adapters that cannot hold: lavapipe (shader-f16, another FMA contraction) moves chaotic candidates such as
//    (1, 1.09), whose JAQ swings between 2.17 and 2.56 with summation order, and with them the search's path; the
//    cross-adapter numerics are checked by the generation comparison above and the golden tests on each adapter.
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launchChromium } from "../../scripts/chromium.mjs";
import { startStaticServer } from "../../scripts/static-server.mjs";

const root = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const settings = { prompt: "a red circle on a blue background", seed: 100, steps: 4, guidance: 2 };
// budget: the page's minimum for 2 prompts, read from its budget field below.
const cal = { quant: "w4a8", steps: 2, guidance: 1, prompts: 2, budget: 0 };

const { QSchedPipeline } = await import(join(root, "dist/node/index.js"));
const pipe = await QSchedPipeline.fromPretrained(join(root, "models/toy-shapes"));
const node = (await pipe.generate({ prompt: settings.prompt, seed: settings.seed, steps: settings.steps, guidanceScale: settings.guidance })).images[0];
pipe.dispose();

/** The Node calibration for the same settings: `qsched-gpu calibrate` on the same toy with the page's prompts. */
function nodeCalibration(prompts, budget = cal.budget) {
  const dir = mkdtempSync(join(tmpdir(), "qsched-webapp-"));
  const promptFile = join(dir, "prompts.txt");
  const journal = join(dir, "journal.jsonl");
  writeFileSync(promptFile, prompts.join("\n") + "\n");
  const t0 = Date.now();
  const out = execFileSync(
    process.execPath,
    [join(root, "dist/cli/qsched-gpu.js"), "calibrate", "--model", join(root, "models/toy-shapes"), "--quant", cal.quant, "--steps", String(cal.steps), "--guidance", String(cal.guidance), "--prompts", promptFile, "--search", "fast", "--budget", String(budget), "--journal", journal],
    // On SwiftShader, the page's own driver: same driver, same kernels, so the same arithmetic (see the header).
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, QSCHED_ADAPTER: "swiftshader" } },
  );
  const file = JSON.parse(out);
  timings.nodeCalibrateMs = Date.now() - t0;
  // The journal has one line per scored chunk in search order: the candidates Node chose, with their JAQ.
  file.chunks = readFileSync(journal, "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l));
  return file;
}

/** Paths of every file under `dir`, relative to it, with "/" separators. */
function filesUnder(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

/** The CLI's refusal of a budget (it checks before loading anything); "" when it accepted it. */
function nodeBudgetRefusal(prompts, budget) {
  try {
    nodeCalibration(prompts, budget);
    return "";
  } catch (e) {
    return String(e.stderr ?? e.message);
  }
}

const checks = [];
const check = (name, ok, detail = "") => {
  checks.push({ name, ok: Boolean(ok) });
  console.log(`${ok ? "ok  " : "FAIL"} web-app: ${name}${detail ? ` — ${detail}` : ""}`);
};

const { server, port } = await startStaticServer(root);
const browser = await launchChromium();
let frac = 0;
let worst = Infinity;
const timings = {};
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/examples/web-app/index.html`);

  // 1. Generation vs Node.
  await page.evaluate((s) => {
    document.getElementById("prompt").value = s.prompt;
    document.getElementById("seed").value = String(s.seed);
    document.getElementById("steps").value = String(s.steps);
    document.getElementById("guidance").value = String(s.guidance);
  }, settings);
  await page.click("#generate");
  await page.waitForFunction(() => window.__qsched?.done, { timeout: 10 * 60_000, polling: 500 });
  const r = await page.evaluate(() => window.__qsched);
  if (r.error) throw new Error(`web app failed: ${r.error}`);
  // What the canvas shows (not just what the app computed).
  const canvas = await page.evaluate(() => {
    const c = document.getElementById("output");
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data);
  });
  let within = 0;
  let n = 0;
  worst = 0;
  for (let i = 0; i < canvas.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(canvas[i] - node.data[i]);
    if (d <= 1) within++;
    worst = Math.max(worst, d);
    n++;
  }
  frac = within / n;
  timings.generateMs = r.ms;
  check("generated canvas matches Node", r.width === node.width && r.height === node.height && frac >= 0.995 && worst <= 8, `${r.adapter}, ${r.ms.toFixed(0)} ms; ${(100 * frac).toFixed(2)} % of bytes within ±1, worst ${worst}`);

  // Per-step previews: one canvas per step with the step's x0 prediction (VAE-decoded: the toy has no TAESD). Euler's
  // last x0 equals its final sample mathematically, so the last preview is the output up to rounding (±2, 99 %).
  const previews = await page.evaluate(() => Array.from(document.querySelectorAll("#previews canvas"), (c) => Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data)));
  const closeToOutput = (p) => {
    let near = 0;
    let m = 0;
    for (let i = 0; i < p.length; i++) {
      if (i % 4 === 3) continue;
      if (Math.abs(p[i] - canvas[i]) <= 2) near++;
      m++;
    }
    return near / m;
  };
  const lastNear = previews.length ? closeToOutput(previews.at(-1)) : 0;
  const firstNear = previews.length ? closeToOutput(previews[0]) : 1;
  check("a preview per step, the last one the output", previews.length === settings.steps && lastNear >= 0.99 && firstNear < 0.95, `${previews.length} previews; last ${(100 * lastNear).toFixed(1)} % / first ${(100 * firstNear).toFixed(1)} % of bytes within ±2 of the output`);

  // 2. Calibration in the worker.
  await page.evaluate((c) => {
    const set = (id, v) => (document.getElementById(id).value = String(v));
    set("quant", c.quant);
    set("steps", c.steps);
    set("guidance", c.guidance);
    set("cal-prompts", c.prompts);
    document.getElementById("cal-prompts").dispatchEvent(new Event("input"));
    set("cal-search", "fast");
  }, cal);
  // The budget field follows the prompt count: default and minimum in images, from the search module.
  const field = await page.evaluate(() => {
    const b = document.getElementById("cal-budget");
    return { value: Number(b.value), min: Number(b.min), hint: document.getElementById("cal-budget-hint").textContent };
  });
  cal.budget = field.min;
  // Too small: refused by the page with a message, and by the CLI for the same prompts (same minimum).
  await page.evaluate((b) => (document.getElementById("cal-budget").value = String(b)), field.min - 1);
  await page.click("#calibrate");
  const refused = await page.evaluate(() => ({ state: window.__qschedCalibration?.state, error: window.__qschedCalibration?.error ?? "", status: document.getElementById("cal-status").textContent, running: document.getElementById("calibrate").disabled }));
  // The CLI's minimum depends on the prompt count only (it refuses before loading), so any two prompts do.
  const cliRefusal = nodeBudgetRefusal(["prompt one", "prompt two"], field.min - 1);
  check(
    "budget field counts images: default and minimum for 2 prompts, below the minimum refused like the CLI",
    field.min > 0 && field.value > field.min && refused.state === "error" && refused.error.includes(`at least ${field.min}`) && !refused.running && cliRefusal.includes(`minimum of ${field.min} generations`),
    `field default ${field.value}, min ${field.min} ("${field.hint}"); page: "${refused.status}"; CLI: "${cliRefusal.trim().split("\n")[0]}"`,
  );
  await page.evaluate((b) => (document.getElementById("cal-budget").value = String(b)), cal.budget);
  const t0 = Date.now();
  await page.click("#calibrate");
  // Polled from here: one waitForFunction call longer than puppeteer's 180 s protocol timeout fails.
  while ((await page.evaluate(() => window.__qschedCalibration?.state ?? "running")) === "running") {
    if (Date.now() - t0 > 10 * 60_000) throw new Error("calibration did not finish in 10 min");
    await new Promise((r) => setTimeout(r, 1000));
  }
  timings.calibrateMs = Date.now() - t0;
  const state = await page.evaluate(() => window.__qschedCalibration);
  if (state.error) console.log(`calibration error: ${state.error}`);
  check("calibration finished in the worker", state.state === "done", `${state.state} in ${(timings.calibrateMs / 1000).toFixed(0)} s (worker: ${((state.result?.ms ?? 0) / 1000).toFixed(0)} s incl. loading)`);
  const prog = state.progress;
  check(
    "worker posted progress in images for every scored candidate or extension (i of budget, ETA)",
    // One message per candidate scored or extended; `done` counts images, so it grows by the prompts that step added
    // and ends at most at the budget. A candidate may legitimately fail (CLIPScore 0 → JAQ −∞); every message must
    // still carry its point.
    prog.length > 0 &&
      prog.every((p, i) => p.planned === cal.budget && p.done - (i ? prog[i - 1].done : 0) === state.points[i].prompts - (state.points.slice(0, i).findLast((q) => q.m === state.points[i].m && q.s === state.points[i].s)?.prompts ?? 0)) &&
      prog.at(-1).done <= cal.budget &&
      prog.slice(0, -1).every((p) => p.etaMs > 0) &&
      state.points.every((p) => Number.isFinite(p.m) && Number.isFinite(p.s)),
    prog.map((p, i) => `${p.done}/${p.planned} images (${state.points[i].m}, ${state.points[i].s}) on ${state.points[i].prompts} ${state.points[i].failed ? "failed" : state.points[i].jaq.toFixed(4)}${p.etaMs ? ` ETA ${(p.etaMs / 1000).toFixed(0)} s` : ""}`).join(", "),
  );
  const heat = await page.evaluate(() => {
    const c = document.getElementById("cal-heatmap");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      drawn++;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    return { drawn, total: d.length / 4, colours: colours.size };
  });
  check("heatmap canvas has drawn cells", heat.drawn === heat.total && heat.colours >= 4, `${heat.drawn}/${heat.total} pixels drawn, ${heat.colours} colours`);
  const res = state.result;
  check("the page calibrates on the first built-in prompts", state.request.prompts.length === cal.prompts, JSON.stringify(state.request.prompts));
  const nodeCal = nodeCalibration(state.request.prompts);
  // Same search, same decisions, same scores: every candidate (and extension) in the same order with the same prompt
  // count, the same ones failed, and the same JAQ. Tolerance 1e-6 (measured 0): same driver and kernels, so only a
  // different Dawn version's shader translation could move a score; if one ever does, the printed JAQs show by how much.
  const JAQ_TOL = 1e-6;
  const pairs = state.points.map((p, i) => ({ p, c: nodeCal.chunks[i] }));
  const sameScore = (p, c) => (c.jaq === null ? p.failed : !p.failed && Math.abs(p.jaq - c.jaq) <= JAQ_TOL);
  const samePath = nodeCal.chunks.length === state.points.length && pairs.every(({ p, c }) => c && c.m === p.m && c.s === p.s && c.to === p.prompts && sameScore(p, c));
  check(
    "same candidates, order and JAQs as the Node calibration on SwiftShader",
    samePath,
    pairs.map(({ p, c }) => `(${p.m}, ${p.s})/${p.prompts} ${p.failed ? "failed" : p.jaq.toFixed(6)} vs Node ${c ? `(${c.m}, ${c.s})/${c.to} ${c.jaq === null ? "failed" : c.jaq.toFixed(6)}` : "none"}`).join(", ") + (nodeCal.chunks.length > pairs.length ? `; Node has ${nodeCal.chunks.length - pairs.length} more` : ""),
  );
  check(
    "(m, s) and JAQ equal the Node calibration's",
    res && res.m === nodeCal.m && res.s === nodeCal.s && Math.abs(res.jaq - nodeCal.calibration.score) <= JAQ_TOL,
    res ? `browser (${res.m}, ${res.s}) JAQ ${res.jaq.toFixed(6)}, Node (${nodeCal.m}, ${nodeCal.s}) JAQ ${nodeCal.calibration.score.toFixed(6)}, |ΔJAQ| ${Math.abs(res.jaq - nodeCal.calibration.score).toExponential(2)}` : "no result",
  );
  const file = await page.evaluate(async () => {
    const a = document.getElementById("cal-download");
    if (a.hidden || !a.href.startsWith("blob:")) return null;
    return JSON.parse(await (await fetch(a.href)).text());
  });
  check("coefficient file download", file && file.format === "qsched-coefficients" && file.m === res?.m && file.s === res?.s && file.steps === cal.steps, JSON.stringify(file));
  await page.click("#cal-apply");
  const applied = await page.evaluate(() => document.getElementById("qsched").value);
  check("apply sets the Q-Sched control", res && applied === `${res.m}, ${res.s}`, `#qsched = "${applied}"`);

  // A picked folder calibrates too: the same toy, as files the page holds the way a folder pick gives them (with
  // webkitRelativePath), must give the URL calibration's candidates, JAQs and (m, s).
  const picked = await page.evaluate(async (files) => {
    const dt = new DataTransfer();
    for (const rel of files) {
      const blob = await (await fetch(`/models/toy-shapes/${rel}`)).blob();
      const f = new File([blob], rel.split("/").pop());
      Object.defineProperty(f, "webkitRelativePath", { value: `toy-shapes/${rel}` });
      dt.items.add(f);
    }
    const input = document.getElementById("model-files");
    input.files = dt.files;
    input.dispatchEvent(new Event("change"));
    return { count: input.files.length, first: input.files[0]?.webkitRelativePath ?? "" };
  }, filesUnder(join(root, "models/toy-shapes")));
  const tPick = Date.now();
  await page.click("#calibrate");
  while ((await page.evaluate(() => window.__qschedCalibration?.state ?? "running")) === "running") {
    if (Date.now() - tPick > 10 * 60_000) throw new Error("picked-folder calibration did not finish in 10 min");
    await new Promise((r) => setTimeout(r, 1000));
  }
  const pickedState = await page.evaluate(() => ({ ...window.__qschedCalibration, request: { model: window.__qschedCalibration.request.model.label ?? window.__qschedCalibration.request.model.url } }));
  const samePoints = pickedState.points.length === state.points.length && pickedState.points.every((p, i) => p.m === state.points[i].m && p.s === state.points[i].s && p.prompts === state.points[i].prompts && (p.failed ? state.points[i].failed : p.jaq === state.points[i].jaq));
  check(
    "a picked folder calibrates in the worker like the same model by URL",
    pickedState.state === "done" && pickedState.request.model === "picked folder toy-shapes" && samePoints && pickedState.result?.m === res?.m && pickedState.result?.s === res?.s,
    `${picked.count} files (${picked.first}, …) → ${pickedState.state}${pickedState.error ? `: ${pickedState.error}` : ""} in ${((Date.now() - tPick) / 1000).toFixed(0)} s, ${pickedState.points.length} points, (${pickedState.result?.m}, ${pickedState.result?.s}) vs URL (${res?.m}, ${res?.s})`,
  );
  await page.click("#model-files-clear");

  // Cancel: start again, cancel once the worker is loading; no message may arrive afterwards.
  await page.click("#calibrate");
  await page.waitForFunction(() => document.getElementById("cal-status").textContent.startsWith("loading"), { timeout: 60_000, polling: 100 });
  await page.click("#cal-cancel");
  await new Promise((r) => setTimeout(r, 3000));
  const cancelled = await page.evaluate(() => ({ state: window.__qschedCalibration.state, points: window.__qschedCalibration.points.length, enabled: !document.getElementById("calibrate").disabled }));
  check("cancel terminates the worker", cancelled.state === "cancelled" && cancelled.points === 0 && cancelled.enabled, JSON.stringify(cancelled));

  // 3. Bad input and a failed load: each refused with its reason, and the page generates again afterwards.
  const generate = async (set) => {
    await page.evaluate((v) => {
      for (const [id, value] of Object.entries(v)) document.getElementById(id).value = value;
      window.__qsched = undefined;
    }, set);
    await page.click("#generate");
    await page.waitForFunction(() => window.__qsched?.done, { timeout: 10 * 60_000, polling: 200 });
    return page.evaluate(() => ({ ...window.__qsched, rgba: undefined, status: document.getElementById("status").textContent }));
  };
  const empty = await generate({ guidance: "" });
  check("an empty field is refused by name, not read as 0", /Guidance must be a number, found ""/.test(empty.error ?? "") && empty.status === "failed", JSON.stringify(empty));
  const missing = await generate({ guidance: String(settings.guidance), "model-url": "../../models/nope/" });
  const again = await generate({ "model-url": "../../models/toy-shapes/" });
  check("after a failed load the page loads the model again and generates", /404/.test(missing.error ?? "") && !again.error && again.width === node.width, `${missing.error} → ${again.error ?? again.status}`);
} catch (e) {
  check("web-app run", false, e.message);
} finally {
  await browser.close();
  server.close();
}
const passed = checks.filter((c) => c.ok).length;
const failed = checks.length - passed;
mkdirSync(join(root, ".cache"), { recursive: true });
writeFileSync(join(root, ".cache/web-app-results.json"), JSON.stringify({ passed, failed, frac, worst, timings }));
console.log(`web-app: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

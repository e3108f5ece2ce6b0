#!/usr/bin/env node
// The web-app example in headless Chromium (SwiftShader): generates with the embedded toy model and
// compares the canvas pixels with the Node (Dawn) result for the same seed and settings.
// Different adapters round float32 math differently (FMA contraction, exp/sin accuracy), so the
// bound is on bytes: ≥ 99.5 % of RGB bytes within ±1 and none off by more than 8 (measured on
// SwiftShader vs lavapipe: 100 % within ±1, worst 1).
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { launchChromium } from "../../scripts/chromium.mjs";
import { startStaticServer } from "../../scripts/static-server.mjs";

const root = resolve(new URL("../..", import.meta.url).pathname);
const settings = { prompt: "a red circle on a blue background", seed: 100, steps: 4, guidance: 2 };

const { QSchedPipeline } = await import(join(root, "dist/node/index.js"));
const pipe = await QSchedPipeline.fromPretrained(join(root, "models/toy-shapes"));
const node = (await pipe.generate({ prompt: settings.prompt, seed: settings.seed, steps: settings.steps, guidanceScale: settings.guidance })).images[0];
pipe.dispose();

const { server, port } = await startStaticServer(root);
const browser = await launchChromium();
let ok = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/examples/web-app/index.html`);
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
  let worst = 0;
  let n = 0;
  for (let i = 0; i < canvas.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(canvas[i] - node.data[i]);
    if (d <= 1) within++;
    worst = Math.max(worst, d);
    n++;
  }
  const frac = within / n;
  ok = r.width === node.width && r.height === node.height && frac >= 0.995 && worst <= 8;
  console.log(`web-app: ${r.adapter}, ${r.ms.toFixed(0)} ms; canvas vs Node: ${(100 * frac).toFixed(2)} % of bytes within ±1, worst ${worst}`);
  mkdirSync(join(root, ".cache"), { recursive: true });
  writeFileSync(join(root, ".cache/web-app-results.json"), JSON.stringify({ passed: ok ? 1 : 0, failed: ok ? 0 : 1, frac, worst }));
} finally {
  await browser.close();
  server.close();
}
console.log(`web-app: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);

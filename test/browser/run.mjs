#!/usr/bin/env node
// Runs the kernel test page in headless Debian Chromium (SwiftShader WebGPU adapter) through
// puppeteer-core, serving the repo (and the full oracle, when present) on 127.0.0.1.
// Prints one line per case and "browser: N passed, M failed"; exits non-zero on any failure
// and when no adapter is found (never a silent skip).
import { fileURLToPath } from "node:url";
import { existsSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { launchChromium } from "../../scripts/chromium.mjs";
import { startStaticServer } from "../../scripts/static-server.mjs";

const root = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const golden = resolve(process.env.QSCHED_GOLDEN || join(root, "../shared/golden"));
if (process.env.QSCHED_GOLDEN && !existsSync(join(golden, "README.md"))) {
  console.error(`QSCHED_GOLDEN=${process.env.QSCHED_GOLDEN}: no oracle there (expected ${join(golden, "README.md")}); unset it to run the shipped subset only`);
  process.exit(1);
}
mkdirSync(join(root, ".cache"), { recursive: true });
writeFileSync(join(root, ".cache/browser-tests.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/dist/test/browser-tests.js"></script>`);

const { server, port } = await startStaticServer(root, { "/golden-full": golden });
const browser = await launchChromium();
let exitCode = 1;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  const folders = ["/test/fixtures/golden/ops"];
  if (existsSync(join(golden, "ops/manifest.json"))) folders.push("/golden-full/ops");
  console.log(`browser: full oracle ${folders.length > 1 ? "RUNS" : "NOT available"} for ops`);
  const qs = folders.map((f) => `ops=${encodeURIComponent(f)}`).join("&");
  await page.goto(`http://127.0.0.1:${port}/.cache/browser-tests.html?${qs}`);
  await page.waitForFunction(() => window.__qschedResults?.done, { timeout: 15 * 60_000, polling: 500 });
  const state = await page.evaluate(() => window.__qschedResults);
  console.log(`browser adapter: ${state.adapter || "none"}`);
  if (state.fatal) console.log(`FATAL ${state.fatal}`);
  let passed = 0;
  let failed = state.fatal ? 1 : 0;
  for (const r of state.results) {
    if (r.ok) passed++;
    else failed++;
    if (!r.ok || process.env.VERBOSE) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}${r.detail ? ` — ${r.detail}` : ""}`);
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  writeFileSync(join(root, ".cache/browser-results.json"), JSON.stringify({ passed, failed }));
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(exitCode);

#!/usr/bin/env node
// Runs the kernel test page in headless Debian Chromium (SwiftShader WebGPU adapter) through
// puppeteer-core, serving the repo (and the full oracle, when present) on 127.0.0.1.
// Prints one line per case and "browser: N passed, M failed"; exits non-zero on any failure
// and when no adapter is found (never a silent skip).
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import puppeteer from "puppeteer-core";

const root = resolve(new URL("../..", import.meta.url).pathname);
const golden = resolve(process.env.QSCHED_GOLDEN ?? join(root, "../shared/golden"));
const types = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".map": "application/json" };

function serve() {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    let path = decodeURIComponent(url.pathname);
    let base = root;
    if (path.startsWith("/golden-full/")) {
      base = golden;
      path = path.slice("/golden-full".length);
    }
    const file = normalize(join(base, path));
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!chromium) {
  console.error("browser tests: Debian chromium not found (run `npm test`, which installs it)");
  process.exit(1);
}
mkdirSync(join(root, ".cache"), { recursive: true });
writeFileSync(join(root, ".cache/browser-tests.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/dist/test/browser-tests.js"></script>`);

const server = await serve();
const port = server.address().port;
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
    "--use-vulkan=swiftshader",
    "--use-webgpu-adapter=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
  ],
});
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

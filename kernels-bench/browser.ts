/**
 * Opens the bench page (dist/bench/kernels-page.js) in headless Debian Chromium through puppeteer-core,
 * with the flags test/browser/run.mjs uses for SwiftShader WebGPU, serving the repo on 127.0.0.1.
 */
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import type { Row } from "./bench.ts";
import type { Peaks } from "./probes.ts";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".map": "application/json", ".wgsl": "text/plain" };

/** What the page leaves in `window.__benchResults`. */
export interface PageResults {
  adapter: string;
  peaks?: Peaks;
  rows: Row[];
  done: boolean;
  error?: string;
}

function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

export async function runInChromium(root: string, opts: { quick: boolean; only?: string }): Promise<PageResults> {
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  if (!chromium) return { adapter: "", rows: [], done: true, error: "Debian chromium not found (npm test installs it)" };
  if (!existsSync(join(root, "dist/bench/kernels-page.js"))) return { adapter: "", rows: [], done: true, error: "dist/bench/kernels-page.js is not built (node scripts/build.mjs)" };
  mkdirSync(join(root, ".cache"), { recursive: true });
  writeFileSync(join(root, ".cache/kernels-bench.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/dist/bench/kernels-page.js"></script>`);
  const { default: puppeteer } = await import("puppeteer-core");
  const server = await serve(root);
  const port = (server.address() as { port: number }).port;
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader", "--disable-dev-shm-usage", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => process.stderr.write(`  [page] ${m.text()}\n`));
    const qs = new URLSearchParams({ ...(opts.quick ? { quick: "1" } : {}), ...(opts.only ? { only: opts.only } : {}) });
    await page.goto(`http://127.0.0.1:${port}/.cache/kernels-bench.html?${qs}`);
    await page.waitForFunction(() => (window as unknown as { __benchResults?: PageResults }).__benchResults?.done, { timeout: 20 * 60_000, polling: 500 });
    return await page.evaluate(() => (window as unknown as { __benchResults: PageResults }).__benchResults);
  } finally {
    await browser.close();
    server.close();
  }
}

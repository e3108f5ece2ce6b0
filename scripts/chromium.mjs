// Launches Debian's headless Chromium with WebGPU on SwiftShader (the only adapter on a GPU-less
// machine), with the network-quiet flags this environment needs. Shared by the browser tests, the
// web-app test and the benchmarks.
import { existsSync } from "node:fs";
import puppeteer from "puppeteer-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

export function chromiumPath() {
  const p = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((x) => existsSync(x));
  if (!p) throw new Error("Debian chromium not found (run `npm test` or scripts/setup.sh --browser, which install it)");
  return p;
}

/**
 * puppeteer's protocolTimeout (180 s by default) caps every CDP call, including a waitForFunction's own call, so
 * the long waits the test pages give (15 min for the kernel page) would end at 3 min on a slow machine with only
 * "Waiting failed". One hour leaves each caller's own timeout in charge.
 */
const PROTOCOL_TIMEOUT_MS = 60 * 60_000;

export function launchChromium() {
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, protocolTimeout: PROTOCOL_TIMEOUT_MS });
}

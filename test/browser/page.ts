/**
 * The browser half of `npm test`: the same kernel cases as the Node run, plus the golden ops
 * folders, on the browser's WebGPU adapter (SwiftShader in headless Chromium, f32 path).
 * Results go to `window.__qschedResults` for the puppeteer runner.
 */
import { Gpu } from "../../src/gpu/runtime.ts";
import { runOpsCases } from "../../src/verify/ops-cases/run.ts";
import type { Manifest } from "../../src/verify/types.ts";
import { clipPreprocessCases } from "../cases/clip-preprocess.ts";
import { deviceCases } from "../cases/device.ts";
import { foundationCases } from "../cases/foundation.ts";
import { gpuKernelCases } from "../cases/gpu-kernels.ts";
import { quantCases } from "../cases/quant.ts";

interface Result {
  name: string;
  ok: boolean;
  detail?: string;
}

declare global {
  interface Window {
    __qschedResults?: { adapter: string; results: Result[]; done: boolean; fatal?: string };
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<void> {
  const state: NonNullable<Window["__qschedResults"]> = { adapter: "", results: [], done: false };
  window.__qschedResults = state;
  try {
    const gpu = await Gpu.create();
    gpu.poisonOutputs = true;
    state.adapter = gpu.ctx.describe();
    for (const c of [...foundationCases, ...quantCases, ...gpuKernelCases, ...deviceCases, ...clipPreprocessCases]) {
      try {
        await c.run(gpu);
        state.results.push({ name: c.name, ok: true });
      } catch (e) {
        state.results.push({ name: c.name, ok: false, detail: (e as Error).message });
      }
    }
    const params = new URLSearchParams(location.search);
    for (const folder of params.getAll("ops")) {
      const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes(`${folder}/manifest.json`))) as Manifest;
      const results = await runOpsCases(gpu, manifest, (f) => fetchBytes(`${folder}/${f}`), undefined);
      for (const r of results) state.results.push({ name: `golden ${folder}: ${r.name}`, ok: r.ok, detail: r.detail });
    }
  } catch (e) {
    state.fatal = (e as Error).stack ?? String(e);
  }
  state.done = true;
}

void main();

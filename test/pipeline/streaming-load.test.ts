/**
 * Streaming load: the CPU holds one tensor at a time (counted by `streamedBytes`), the GPU ends up with
 * the same bytes as the in-memory load, and an abort mid-load frees everything it had uploaded.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { Unet } from "../../src/models/unet/unet.ts";
import { VaeDecoder } from "../../src/models/vae/decoder.ts";
import { folderSource } from "../../src/platform/node.ts";
import { streamComponent, streamedBytes, tensorSourceOf } from "../../src/pipeline/component-tensors.ts";
import { loadUnet } from "../../src/pipeline/load-unet.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { LoadProgress } from "../../src/pipeline/types.ts";
import { QUANT_FORMATS } from "../../src/quant/formats.ts";
import { loadComponent } from "../../src/weights/diffusers/component.ts";
import { readHeaderLength, parseSafetensorsHeader } from "../../src/weights/safetensors/header.ts";
import { run as makeRandom } from "../../weights-tools/commands/make-random.ts";
import { REPO_ROOT } from "../helpers/golden.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const TINY_UNET = join(REPO_ROOT, "../shared/golden/tiny-sd-turbo/unet");

/** Names and shapes of a safetensors file, as make-random's tensors.json wants them. */
function tensorIndex(file: string): Record<string, [number[], string]> {
  const bytes = readFileSync(file);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, file);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length, file);
  return Object.fromEntries([...header.entries].map(([name, e]) => [name, [[...e.shape], "F32"]]));
}

/** Every pair holds the same bytes (read back all at once: one readback per tensor is slow on lavapipe). */
async function expectSameBytes(gpu: Gpu, pairs: [Tensor, Tensor][]): Promise<void> {
  const got = await Promise.all(pairs.flat().map((t) => gpu.download(t)));
  const differ = pairs.filter((_, i) => Buffer.compare(Buffer.from(got[2 * i]!.buffer, got[2 * i]!.byteOffset, got[2 * i]!.byteLength), Buffer.from(got[2 * i + 1]!.buffer, got[2 * i + 1]!.byteOffset, got[2 * i + 1]!.byteLength)) !== 0);
  expect(differ.map(([t]) => t.toString())).toEqual([]);
}

describe("streaming load holds one tensor at a time", () => {
  let dir: string;
  beforeAll(async () => {
    // A random UNet with the tiny SD-Turbo's names and shapes, written by make-random.
    dir = mkdtempSync(join(tmpdir(), "qsched-stream-"));
    const cfg = join(dir, "config");
    mkdirSync(join(cfg, "unet"), { recursive: true });
    writeFileSync(join(cfg, "unet/config.json"), readFileSync(join(TINY_UNET, "config.json")));
    writeFileSync(join(cfg, "unet/tensors.json"), JSON.stringify(tensorIndex(join(TINY_UNET, "diffusion_pytorch_model.safetensors"))));
    expect(await makeRandom(["--config", cfg, "--out", join(dir, "model"), "--quiet"])).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the peak of bytes read and not released is the largest tensor, a small fraction of the component", async () => {
    const gpu = await Gpu.create();
    const src = await folderSource(join(dir, "model"));
    const comp = await loadComponent(src, "unet");
    const sizes = [...comp.tensors.values()].map((t) => t.byteLength);
    await comp.close();
    const total = sizes.reduce((a, b) => a + b, 0);
    const largest = Math.max(...sizes);
    expect(total).toBeGreaterThan(10 * largest); // the bound below means something

    for (const quant of [undefined, "w4a8"] as const) {
      const progress: LoadProgress[] = [];
      const held0 = streamedBytes.held;
      streamedBytes.resetPeak();
      const { unet } = await loadUnet(gpu, src, { quant, policy: "all", onProgress: (p) => progress.push(p) });
      expect(streamedBytes.peak - held0).toBe(largest);
      expect(streamedBytes.held).toBe(held0);
      // Progress in bytes of the file, monotone, ending at the total.
      expect(progress.at(-1)).toMatchObject({ component: "unet", bytesDone: total, bytesTotal: total });
      expect(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone)).toBe(true);
      unet.dispose();
    }
    expect(gpu.pool.live).toBe(0);
  });
});

describe("streaming load uploads what the in-memory load uploads", () => {
  it("toy UNet float and W4A8 (policy all), and the VAE decoder: the same GPU bytes", async () => {
    const gpu = await Gpu.create();
    const src = await folderSource(TOY);
    for (const quant of [undefined, QUANT_FORMATS.W4A8]) {
      const comp = await loadComponent(src, "unet");
      const memory = await tensorSourceOf(comp);
      const a = Unet.load(gpu, memory, comp.config, { quant, policy: "all" });
      const b = await Unet.loadStreaming(gpu, streamComponent(comp), comp.config, { quant, policy: "all" });
      await comp.close();
      expect(b.weights.bytes).toBe(a.weights.bytes);
      const pairs: [Tensor, Tensor][] = [];
      for (const n of memory.names()) {
        const module = n.slice(0, -".weight".length);
        const qa = a.quantized?.weights.get(module) ?? a.quantized?.convs.get(module);
        const qb = b.quantized?.weights.get(module) ?? b.quantized?.convs.get(module);
        expect(qb === undefined).toBe(qa === undefined);
        if (qa && qb) pairs.push([qa.codes, qb.codes], [qa.scales, qb.scales]);
        else pairs.push([a.weights.get(n), b.weights.get(n)]);
      }
      await expectSameBytes(gpu, pairs);
      expect(b.quantized?.skipped).toEqual(a.quantized?.skipped);
      a.dispose();
      b.dispose();
    }
    const vae = await loadComponent(src, "vae");
    const memory = await tensorSourceOf(vae);
    const a = VaeDecoder.load(gpu, memory, vae.config);
    const b = await VaeDecoder.loadStreaming(gpu, streamComponent(vae), vae.config);
    await vae.close();
    const decoder = memory.names().filter((n) => n.startsWith("decoder.") || n.startsWith("post_quant_conv."));
    await expectSameBytes(gpu, decoder.map((n) => [a.weights.get(n), b.weights.get(n)]));
    a.weights.dispose();
    b.weights.dispose();
    expect(gpu.pool.live).toBe(0);
  });
});

describe("aborting a load", () => {
  for (const component of ["unet", "text_encoder", "vae"]) {
    it(`mid-${component}: rejects with the abort reason, frees what was uploaded, holds no tensor bytes`, async () => {
      const gpu = await Gpu.create();
      const keep = gpu.upload(new Float32Array(16), [16]); // the pool need not be empty before a load
      const live0 = gpu.pool.live;
      const held0 = streamedBytes.held;
      const ac = new AbortController();
      const load = QSchedPipeline.fromPretrained(TOY, {
        gpu,
        quant: component === "unet" ? "w8a8" : undefined,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.component === component && p.bytesDone > (p.bytesTotal ?? 0) / 3) ac.abort();
        },
      });
      await expect(load).rejects.toMatchObject({ name: "AbortError" });
      expect(gpu.pool.live).toBe(live0);
      expect(streamedBytes.held).toBe(held0);
      keep.dispose();
    });
  }
});

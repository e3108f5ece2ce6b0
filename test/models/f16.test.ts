/**
 * The f16 model path (weights and activations stored as f16, math in f32 inside each kernel) against
 * diffusers' float32 activations: every module within F16_ACTIVATION_TOL (src/verify/f16-bounds.ts,
 * measured ≤ 3.6e-3), and measurably different from the f32 path (which stays ≤ 2e-6), so a silent
 * fall-back to f32 fails too. Shipped subset always, full oracle when present.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { Unet } from "../../src/models/unet/unet.ts";
import { weightSourceFrom } from "../../src/models/weights.ts";
import { F16_ACTIVATION_TOL } from "../../src/verify/f16-bounds.ts";
import { runTaesdCases } from "../../src/verify/kinds/taesd.ts";
import { runTextEncoderActivations } from "../../src/verify/pipeline/text-encoder-activations.ts";
import { runUnetActivations } from "../../src/verify/pipeline/unet-activations.ts";
import { runVaeDecoderActivations } from "../../src/verify/pipeline/vae-activations.ts";
import type { CaseResult } from "../../src/verify/types.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { FIXTURE_GOLDEN, fullGoldenDir, goldenFolders } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

const PIPELINES = ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"] as const;
/** f16 must differ from diffusers' f32 by at least this (measured ≥ 1.1e-3 everywhere; the f32 path ≤ 2e-6). */
const F16_MEASURABLE = 1e-4;

const full = fullGoldenDir();
const folders = (pipeline: string) => [
  { label: "subset", dir: join(FIXTURE_GOLDEN, pipeline) },
  ...(full && existsSync(join(full, pipeline, "activations", "manifest.json")) ? [{ label: "full", dir: join(full, pipeline) }] : []),
];

/** Every result within the bound, and the largest error measurably above f32's. */
function expectF16Bound(results: CaseResult[], what: string): number {
  expect(results.length).toBeGreaterThan(0);
  expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
  const max = Math.max(...results.map((r) => r.error ?? 0));
  console.log(`[f16] ${what}: ${results.length} tensors, max rel error ${max.toExponential(2)} (bound ${F16_ACTIVATION_TOL})`);
  expect(max).toBeGreaterThan(F16_MEASURABLE);
  return max;
}

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe("f16 models vs diffusers float32 activations", () => {
  it("this adapter has shader-f16 (else loading an f16 model must name the feature)", () => {
    if (gpu.ctx.caps.f16) return;
    const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo");
    const f = join(dir, "unet/diffusion_pytorch_model.safetensors");
    const config = JSON.parse(readFileSync(join(dir, "unet/config.json"), "utf8")) as Record<string, unknown>;
    expect(() => Unet.load(gpu, weightSourceFrom(f, readSafetensorsFileSync(f)), config, { dtype: "f16" })).toThrow(/shader-f16/);
  });

  for (const pipeline of PIPELINES) {
    for (const { label, dir } of folders(pipeline)) {
      it(`${pipeline} (${label}): UNet, text encoders, VAE decoder`, async () => {
        if (!gpu.ctx.caps.f16) return;
        expectF16Bound(await runUnetActivations(gpu, dir, "activations", F16_ACTIVATION_TOL, { dtype: "f16" }), `${pipeline} ${label} unet`);
        const acts = join(dir, "activations");
        if (existsSync(join(acts, "text_encoder.safetensors")) || existsSync(join(acts, "text_encoder_2.safetensors"))) {
          expectF16Bound(await runTextEncoderActivations(gpu, dir, F16_ACTIVATION_TOL, { dtype: "f16" }), `${pipeline} ${label} text encoders`);
        }
        if (existsSync(join(acts, "vae_decoder.safetensors"))) {
          expectF16Bound(await runVaeDecoderActivations(gpu, dir, F16_ACTIVATION_TOL, { dtype: "f16" }), `${pipeline} ${label} vae decoder`);
        }
      });
    }
  }

  // The channel slices (activations over the binding limit) in f16: the f32 test's slicing at half the bytes.
  it("VAE decoder on channel slices (f16)", async () => {
    if (!gpu.ctx.caps.f16) return;
    const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo");
    expectF16Bound(await runVaeDecoderActivations(gpu, dir, F16_ACTIVATION_TOL, { dtype: "f16", testVariants: { maxSliceBytes: 36 * 1024 } }), "sliced vae decoder f16");
  });

  for (const { label, dir } of goldenFolders("tiny-taesd")) {
    it(`TAESD / TAESDXL (${label})`, async () => {
      if (!gpu.ctx.caps.f16) return;
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      expectF16Bound(await runTaesdCases(gpu, dir, manifest, F16_ACTIVATION_TOL, undefined, "f16"), `taesd ${label}`);
    });
  }
});

describe("discriminating check: the f16 bound is tight enough to catch half-precision timestep embeddings", () => {
  const { label, dir } = folders("tiny-sd-turbo").at(-1)!;
  it(`time_proj's sin/cos arguments rounded to f16 fail the f16 bound (${label})`, async () => {
    if (!gpu.ctx.caps.f16) return;
    // Why they are computed in float64 on the CPU: arguments reach ~1000 rad, where f16 steps by 0.5.
    const results = await runUnetActivations(gpu, dir, "activations", F16_ACTIVATION_TOL, { dtype: "f16", testVariants: { timeProjArgumentsF16: true } });
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toContain("unet activations time_proj");
  });
});

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { Unet, latentSizeFor, type UnetLoadOptions } from "../../src/models/unet/unet.ts";
import { QUANT_FORMATS } from "../../src/quant/formats.ts";
import { parseUnetConfig } from "../../src/models/unet/config.ts";
import { weightSourceFrom } from "../../src/models/weights.ts";
import { nchwToTokens, tokensToNchw } from "../../src/ops/transpose.ts";
import { nearestSourceIndex, upsampleNearestTo } from "../../src/ops/upsample-to.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { runUnetActivations, type UnetActivationsPart } from "../../src/verify/pipeline/unet-activations.ts";
import type { CaseResult } from "../../src/verify/types.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

const PIPELINES = ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"] as const;
const QUANT_PARTS: UnetActivationsPart[] = ["activations-w8a8", "activations-w4a8"];

/**
 * Float bounds, tighter than the README's 1e-4 so that the deliberately wrong variants below fail the
 * very comparison the right model passes. Full oracle: measured max 1.9e-6 (sdxl conv_out), the wrong
 * GroupNorm eps gives 1.6e-4. Shipped subset (front of the network only): measured max 8.2e-7, the wrong
 * eps 9.0e-6 (its effect grows with depth).
 */
const FLOAT_TOL = { full: 2e-5, subset: 4e-6 };

interface Folder {
  label: "full" | "subset";
  dir: string;
}

const full = fullGoldenDir();
console.log(full ? `[golden] unet: full oracle at ${full} RUNS` : "[golden] unet: full oracle NOT available (set QSCHED_GOLDEN); only the shipped subset runs");

function foldersFor(pipeline: string, part: string): Folder[] {
  const out: Folder[] = [];
  const subset = join(FIXTURE_GOLDEN, pipeline);
  if (existsSync(join(subset, part, "manifest.json"))) out.push({ label: "subset", dir: subset });
  if (full && existsSync(join(full, pipeline, part, "manifest.json"))) out.push({ label: "full", dir: join(full, pipeline) });
  return out;
}

function expectAllOk(results: CaseResult[]): number {
  expect(results.length).toBeGreaterThan(0);
  const bad = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
  expect(bad).toEqual([]);
  return Math.max(...results.map((r) => r.error ?? 0));
}

function expectSomeFail(results: CaseResult[]): void {
  expect(results.filter((r) => !r.ok).length).toBeGreaterThan(0);
}

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe("UNet2DConditionModel vs diffusers activations (float32)", () => {
  for (const pipeline of PIPELINES) {
    for (const folder of foldersFor(pipeline, "activations")) {
      it(`${pipeline} (${folder.label})`, async () => {
        let ms: number | undefined;
        const results = await runUnetActivations(gpu, folder.dir, "activations", FLOAT_TOL[folder.label], { onTiming: (t) => (ms = t) });
        const max = expectAllOk(results);
        console.log(`[unet] ${pipeline} ${folder.label} float: ${results.length} modules, max rel error ${max.toExponential(2)}, ${ms === undefined ? "stopped after the listed modules" : `call+hooks ${ms.toFixed(0)} ms`}`);
      });
    }
  }
});

describe("UNet2DConditionModel, torchao-quantized linears", () => {
  for (const pipeline of PIPELINES) {
    for (const part of QUANT_PARTS) {
      for (const folder of foldersFor(pipeline, part)) {
        it(`${pipeline} ${part} (${folder.label})`, async () => {
          // Default bounds: README mean-rel and max-rel ≤ 5e-2 per module; per-linear codes exact, y ≤ 1e-5.
          const results = await runUnetActivations(gpu, folder.dir, part);
          const max = expectAllOk(results);
          expect(results.some((r) => r.name.endsWith("quantized module split"))).toBe(true);
          console.log(`[unet] ${pipeline} ${folder.label} ${part}: ${results.length} checks, max rel error ${max.toExponential(2)}`);
        });
      }
    }
  }
});

describe("the feed-forward in row blocks (how SD at 1024² fits a 128 MiB binding)", () => {
  const folder = foldersFor("tiny-sd-turbo", "activations").at(-1)!;
  it(`matches diffusers with the GEGLU projection cut into blocks of a few rows (${folder.label})`, async () => {
    // 8 KiB: a block holds 8 KiB / (8·C·4 B) rows (C = 32 here: 8 rows), so every transformer block runs in many blocks.
    const results = await runUnetActivations(gpu, folder.dir, "activations", FLOAT_TOL[folder.label], { testVariants: { feedForwardBindingBytes: 8192 } });
    expectAllOk(results);
  });
  const quantFolder = foldersFor("tiny-sd-turbo", "activations-w4a8").at(-1)!;
  it(`and with W4A8 linears (per-token quantization of each block's rows) (${quantFolder.label})`, async () => {
    const results = await runUnetActivations(gpu, quantFolder.dir, "activations-w4a8", undefined, { testVariants: { feedForwardBindingBytes: 8192 } });
    expectAllOk(results);
  });
});

describe("discriminating checks: wrong variants fail the same comparison", () => {
  const folder = foldersFor("tiny-sd-turbo", "activations").at(-1)!;
  const tol = FLOAT_TOL[folder.label];
  it(`GroupNorm eps 1e-6 instead of 1e-5 in the resnets (${folder.label})`, async () => {
    expectSomeFail(await runUnetActivations(gpu, folder.dir, "activations", tol, { testVariants: { resnetGroupNormEps: 1e-6 } }));
  });
  it(`tanh-GELU instead of erf in the GEGLU feed-forward (${folder.label})`, async () => {
    expectSomeFail(await runUnetActivations(gpu, folder.dir, "activations", tol, { testVariants: { feedForwardGelu: "tanh" } }));
  });
});

describe("discriminating check: a wrong quantization layout fails the per-linear checks", () => {
  const folder = foldersFor("tiny-sd-turbo", "activations-w4a8").at(-1)!;
  it(`W4A8 weights in groups of 64 instead of 32 (${folder.label})`, async () => {
    const results = await runUnetActivations(gpu, folder.dir, "activations-w4a8", undefined, { testGroupSize: 64 });
    const failedLinears = results.filter((r) => !r.ok && r.name.includes(" lin ") && r.name.endsWith(" y"));
    expect(failedLinears.length).toBeGreaterThan(0);
  });
});

describe("UNet inputs and config errors", () => {
  const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo");
  const config = () => JSON.parse(readFileSync(join(dir, "unet/config.json"), "utf8")) as Record<string, unknown>;
  const source = () => {
    const f = join(dir, "unet/diffusion_pytorch_model.safetensors");
    return weightSourceFrom(f, readSafetensorsFileSync(f));
  };

  it("a config/checkpoint shape mismatch names the tensor and both shapes", async () => {
    const unet = Unet.load(gpu, source(), { ...config(), cross_attention_dim: 48 });
    const sample = gpu.upload(new Float32Array(4 * 8 * 8), [1, 4, 8, 8]);
    const context = gpu.upload(new Float32Array(77 * 48), [1, 77, 48]);
    try {
      await expect(unet.forward({ sample, timestep: 999, encoderHiddenStates: context })).rejects.toThrow(
        /"down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight" has shape \[16, 32\], the model config expects \[16, 48\]/,
      );
    } finally {
      await gpu.sync();
      sample.dispose();
      context.dispose();
      unet.dispose();
    }
  });

  it("inputs that disagree with the config are refused by name", async () => {
    const unet = Unet.load(gpu, source(), config());
    const sample = gpu.upload(new Float32Array(3 * 8 * 8), [1, 3, 8, 8]);
    const context = gpu.upload(new Float32Array(77 * 32), [1, 77, 32]);
    try {
      await expect(unet.forward({ sample, timestep: 999, encoderHiddenStates: context })).rejects.toThrow(/sample must be \[B, 4, h, w\] \(in_channels\), got \[1, 3, 8, 8\]/);
    } finally {
      sample.dispose();
      context.dispose();
      unet.dispose();
    }
  });

  it("image sizes must be multiples of 8 (latent = pixels / 8)", () => {
    expect(latentSizeFor(64, 96)).toEqual([8, 12]);
    expect(() => latentSizeFor(100, 64)).toThrow(/height 100 px is not a positive multiple of 8/);
    expect(() => latentSizeFor(64, 60)).toThrow(/width 60 px/);
  });

  it("unsupported config options are rejected naming the option", () => {
    expect(() => parseUnetConfig({ ...config(), class_embed_type: "timestep" })).toThrow(/config option class_embed_type="timestep" is not supported/);
    expect(() => parseUnetConfig({ ...config(), dual_cross_attention: true })).toThrow(/dual_cross_attention=true/);
    expect(() => parseUnetConfig({ ...config(), only_cross_attention: true })).toThrow(/only_cross_attention=true/);
    expect(() => parseUnetConfig({ ...config(), attention_head_dim: [1, 2] })).toThrow(/attention_head_dim=\[1,2\]/);
  });

  it("the real SD-Turbo, SDXL-Turbo and LCM configs parse", () => {
    const root = join(FIXTURE_GOLDEN, "../../../../shared/configs");
    const real = ["stabilityai--sd-turbo", "stabilityai--sdxl-turbo", "SimianLuo--LCM_Dreamshaper_v7"].map((m) => join(root, m, "unet/config.json")).filter(existsSync);
    console.log(`[unet] real configs found: ${real.length} of 3 (under ${root})`);
    for (const f of real) {
      const cfg = parseUnetConfig(JSON.parse(readFileSync(f, "utf8")));
      expect(cfg.downHeads.length).toBe(cfg.blockOutChannels.length);
    }
    const sdxl = real.find((f) => f.includes("sdxl"));
    if (sdxl) {
      const cfg = parseUnetConfig(JSON.parse(readFileSync(sdxl, "utf8")));
      expect(cfg.midTransformerLayers).toBe(10);
      expect(cfg.upHeads).toEqual([20, 10, 5]);
      expect(cfg.textTime).toEqual({ timeEmbedDim: 256, projectionInputDim: 2816 });
    }
  });
});

// The whole tiny-lcm-sd15 UNet is in the full oracle only (the shipped subset keeps the front of the network).
const lcmUnetDir = full ? join(full, "tiny-lcm-sd15", "unet") : null;
if (lcmUnetDir) describe("SD 1.5's conv projections run as linears on the tokens (full oracle)", () => {
  const config = () => JSON.parse(readFileSync(join(lcmUnetDir, "config.json"), "utf8")) as Record<string, unknown>;
  const file = join(lcmUnetDir, "diffusion_pytorch_model.safetensors");
  const st = readSafetensorsFileSync(file);
  const names = [...st.entries.keys()];
  const shortcuts = names.filter((n) => n.endsWith(".conv_shortcut.weight")).length;
  const projections = names.filter((n) => /\.attentions\.\d+\.proj_(in|out)\.weight$/.test(n)).length;

  /** 1×1 conv dispatches of one forward of the tiny LCM UNet loaded with `opts`, and its output. */
  async function pointwiseConvCalls(opts: UnetLoadOptions): Promise<{ calls: number; labels: string; y: Float32Array; quantizedProjections: number }> {
    const unet = Unet.load(gpu, weightSourceFrom(file, st), config(), opts);
    const quantizedProjections = [...(unet.quantized?.convs.keys() ?? [])].filter((m) => /\.proj_(in|out)$/.test(m)).length;
    const sample = gpu.upload(new Float32Array(4 * 8 * 8).fill(0.5), [1, 4, 8, 8]);
    const context = gpu.upload(new Float32Array(77 * 32).fill(0.1), [1, 77, 32]);
    const cond = gpu.upload(new Float32Array(256).fill(0.1), [1, 256]);
    try {
      gpu.startProfiling();
      const out = await unet.forward({ sample, timestep: 999, encoderHiddenStates: context, timestepCond: cond });
      const profile = await gpu.stopProfiling();
      const y = await gpu.read(out);
      out.dispose();
      const calls = profile.filter((k) => k.label.startsWith("conv2d") && k.label.includes("1x1")).reduce((n, k) => n + k.calls, 0);
      return { calls, labels: profile.map((k) => `${k.label} ×${k.calls}`).join(", "), y, quantizedProjections };
    } finally {
      for (const t of [sample, context, cond]) t.dispose();
      unet.dispose();
    }
  }

  it("tiny-lcm-sd15 (use_linear_projection false), float: the only 1×1 conv dispatches are the resnet shortcuts", async () => {
    expect(config().use_linear_projection).toBe(false);
    expect([shortcuts > 0, projections > 0]).toEqual([true, true]);
    const { calls, labels, quantizedProjections } = await pointwiseConvCalls({});
    expect(quantizedProjections).toBe(0);
    expect(calls, labels).toBe(shortcuts);
  });

  it("with policy all, projections quantized at load stay 1×1 convs on their int codes, the float ones (16 channels: under a group of 32) run as linears", async () => {
    const { calls, labels, y, quantizedProjections } = await pointwiseConvCalls({ quant: QUANT_FORMATS.W4A8, policy: "all" });
    expect(quantizedProjections).toBeGreaterThan(0);
    expect(quantizedProjections).toBeLessThan(projections);
    expect(calls, labels).toBe(shortcuts + quantizedProjections);
    expect(y.every(Number.isFinite)).toBe(true);
  });
});

describe("layout ops the transformers need", () => {
  it("NCHW [2, 3, 2, 5] ↔ tokens [2, 10, 3] round-trips, token (b, p, c) = x[b, c, p]", async () => {
    const host = Float32Array.from({ length: 2 * 3 * 10 }, (_, i) => i * 0.5 - 7);
    const x = gpu.upload(host, [2, 3, 2, 5]);
    const t = await nchwToTokens(gpu, x);
    expect(t.shape).toEqual([2, 10, 3]);
    const tokens = await gpu.read(t);
    for (let b = 0; b < 2; b++) for (let p = 0; p < 10; p++) for (let c = 0; c < 3; c++) expect(tokens[(b * 10 + p) * 3 + c]).toBe(host[(b * 3 + c) * 10 + p]);
    const back = await tokensToNchw(gpu, t, 2, 5);
    expect(back.shape).toEqual([2, 3, 2, 5]);
    expect(relativeMaxError(await gpu.read(back), host)).toBe(0);
    await expect(tokensToNchw(gpu, t, 3, 5)).rejects.toThrow(/has 10 tokens but H×W = 3×5 = 15/);
    for (const u of [x, t, back]) u.dispose();
  });
});

describe("nearest resize to the next skip's size", () => {
  it("1×2 → 2×3 takes columns [0, 0, 1] (floor(dst·in/out)) and matches the host mirror", async () => {
    const x = gpu.upload(Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => i), [1, 2, 3, 5]);
    const y = await upsampleNearestTo(gpu, x, 4, 7);
    const got = await gpu.read(y);
    const want = new Float32Array(2 * 4 * 7);
    for (let c = 0; c < 2; c++) for (let r = 0; r < 4; r++) for (let j = 0; j < 7; j++) want[(c * 4 + r) * 7 + j] = c * 15 + nearestSourceIndex(r, 3, 4) * 5 + nearestSourceIndex(j, 5, 7);
    expect(relativeMaxError(got, want)).toBe(0);
    expect([0, 1, 2].map((j) => nearestSourceIndex(j, 2, 3))).toEqual([0, 0, 1]);
    x.dispose();
    y.dispose();
  });
});

/** One stored UNet call of a trace (README "Trace files"): step0 inputs → step0.unet_out. */
async function runTraceStep0(pipelineDir: string, traceCase: string): Promise<{ err: number; warmMs: number }> {
  const st = readSafetensorsFileSync(join(pipelineDir, "traces", `${traceCase}.safetensors`));
  const f = join(pipelineDir, "unet/diffusion_pytorch_model.safetensors");
  const unet = Unet.load(gpu, weightSourceFrom(f, readSafetensorsFileSync(f)), JSON.parse(readFileSync(join(pipelineDir, "unet/config.json"), "utf8")));
  const up = (n: string) => gpu.upload(st.f32(n), st.shape(n));
  const sample = up("step0.unet_in");
  const context = up("encoder_hidden_states");
  try {
    const inputs = { sample, timestep: [...st.f32("step0.timestep")], encoderHiddenStates: context };
    const liveBefore = gpu.pool.live;
    const first = await unet.forward(inputs);
    const err = relativeMaxError(await gpu.read(first), st.f32("step0.unet_out"));
    first.dispose();
    // A second call runs with every pipeline compiled: the wall time of one eager tiny UNet call.
    const start = performance.now();
    const again = await unet.forward(inputs);
    await gpu.read(again);
    const warmMs = performance.now() - start;
    again.dispose();
    // Every intermediate was disposed: the pool's live bytes are back where they were.
    expect(gpu.pool.live).toBe(liveBefore);
    expect(unet.unused()).toEqual([]);
    return { err, warmMs };
  } finally {
    sample.dispose();
    context.dispose();
    unet.dispose();
  }
}

const traceDir = full && existsSync(join(full, "tiny-sd-turbo/traces")) ? join(full, "tiny-sd-turbo") : null;
// The traces (and the whole UNet they need) are in the full oracle only; the subset covers the front.
if (traceDir) describe("UNet calls from the pipeline traces (full oracle)", () => {
  const dir = traceDir;
  it("non-square 8×12 latents: upsamplers resize to the skips' sizes (2×3 → 4×6 → 8×12)", async () => {
    const { err, warmMs } = await runTraceStep0(dir, "sdt_4step_euler_qs_nonsquare");
    console.log(`[unet] tiny-sd-turbo 8×12 step0 unet_out max rel ${err.toExponential(2)}; warm call ${warmMs.toFixed(0)} ms`);
    expect(err).toBeLessThanOrEqual(FLOAT_TOL.full);
  });
  it("CFG batch of 2 ([negative; positive] context)", async () => {
    const { err, warmMs } = await runTraceStep0(dir, "sdt_2step_cfg_negprompt");
    console.log(`[unet] tiny-sd-turbo CFG B=2 step0 unet_out max rel ${err.toExponential(2)}; warm call ${warmMs.toFixed(0)} ms`);
    expect(err).toBeLessThanOrEqual(FLOAT_TOL.full);
  });
});

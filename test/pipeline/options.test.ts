/**
 * generate() and fromPretrained() refuse bad options with a message naming the option, what it must be and what was
 * given, before anything runs: a wrong value, a misspelt or diffusers-style key (which would otherwise be ignored and
 * the default used), a Q-Sched setting that is not finite, and components whose configs do not fit together (both
 * refused before any weight is read).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gpu } from "../../src/gpu/runtime.ts";
import { checkComponentConfigs } from "../../src/pipeline/component-configs.ts";
import { openPipelineFolder } from "../../src/pipeline/load.ts";
import { parseUnetConfig } from "../../src/models/unet/config.ts";
import { nodeFolderSource } from "../../src/weights/sources/node-folder-source.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { createScheduler } from "../../src/scheduler/index.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import type { GenerateOptions } from "../../src/pipeline/types.ts";
import { REPO_ROOT } from "../helpers/golden.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");

describe("generate() options", () => {
  let pipe: QSchedPipeline;
  beforeAll(async () => {
    pipe = await QSchedPipeline.fromPretrained(TOY);
  });
  afterAll(() => pipe.dispose());

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["steps 0", { steps: 0 }, /steps must be an integer in \[1, 1000\], got 0/],
    ["steps 2.5", { steps: 2.5 }, /steps must be an integer in \[1, 1000\], got 2\.5/],
    ["seed -1", { seed: -1 }, /seed must be a non-negative integer, got -1/],
    ["seed NaN", { seed: NaN }, /seed must be a non-negative integer, got NaN/],
    ["guidance NaN", { guidanceScale: NaN }, /guidanceScale must be in \[0, 50\], got NaN/],
    ["eta 1.5", { eta: 1.5 }, /eta must be in \[0, 1\], got 1\.5/],
    ["width 63", { width: 63 }, /width must be a multiple of 8 in \[8, 2048\], got 63/],
    ["height 4096", { height: 4096 }, /height must be a multiple of 8 in \[8, 2048\], got 4096/],
    ["empty prompt", { prompt: "  " }, /prompt is empty/],
    ["prompt list empty", { prompt: [] }, /prompt must be a string or a non-empty list of strings, got \[\]/],
    ["negative prompts of another count", { prompt: ["a", "b"], negativePrompt: ["x", "y", "z"] }, /negativePrompt has 3 entries for 2 prompts/],
    ["batch and a prompt list", { prompt: ["a", "b"], batchSize: 2 }, /batchSize > 1 needs a single prompt/],
    // diffusers' names: without the check they were ignored and the defaults used.
    ["diffusers guidance_scale", { guidance_scale: 0 }, /unknown option "guidance_scale" \(did you mean "guidanceScale"\?\)/],
    ["diffusers num_inference_steps", { num_inference_steps: 2 }, /unknown option "num_inference_steps" \(did you mean "steps"\?\)/],
    ["snake_case of ours", { batch_size: 2 }, /unknown option "batch_size" \(did you mean "batchSize"\?\)/],
    ["a typo", { stepz: 2 }, /unknown option "stepz"; options: prompt, negativePrompt, steps/],
    ["a pipeline option", { qsched: { m: 0.9, s: 0.9 } }, /generate: unknown option "qsched"/],
  ];
  for (const [name, extra, message] of bad) {
    it(`refuses ${name}`, async () => {
      const options = { prompt: "a red circle on a blue background", seed: 1, steps: 1, ...extra } as unknown as GenerateOptions;
      await expect(pipe.generate(options)).rejects.toThrow(message);
    });
  }

  it("a refused call leaves the pipeline usable (nothing was allocated)", async () => {
    const live = pipe.gpu.pool.live;
    await expect(pipe.generate({ prompt: "a", steps: 0 })).rejects.toThrow(/steps/);
    expect(pipe.gpu.pool.live).toBe(live);
    const r = await pipe.generate({ prompt: "a red circle on a blue background", seed: 1, steps: 1 });
    expect([r.images[0]!.width, r.images[0]!.height]).toEqual([64, 64]);
  });
});

describe("eta reaches TCD's step, defaulting to diffusers' pipeline value 0", () => {
  it("the toy with a TCDScheduler: no eta = eta 0 bit for bit; eta 0.3 (TCD's own default) gives another image; each GPU step is the CPU TCD step", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-tcd-"));
    try {
      cpSync(TOY, dir, { recursive: true });
      const euler = JSON.parse(readFileSync(join(dir, "scheduler/scheduler_config.json"), "utf8")) as Record<string, unknown>;
      const tcd = { _class_name: "TCDScheduler", ...Object.fromEntries(["beta_start", "beta_end", "beta_schedule", "num_train_timesteps", "prediction_type"].map((k) => [k, euler[k]])) };
      writeFileSync(join(dir, "scheduler/scheduler_config.json"), JSON.stringify(tcd));
      const pipe = await QSchedPipeline.fromPretrained(dir);
      try {
        const run = async (eta?: number) => (await pipe.generate({ prompt: "a red circle on a blue background", seed: 3, steps: 2, ...(eta === undefined ? {} : { eta }) })).images[0]!.data;
        const plain = await run();
        expect(Buffer.from(await run(0)).equals(Buffer.from(plain))).toBe(true);
        expect(Buffer.from(await run(0.3)).equals(Buffer.from(plain))).toBe(false);
        // Each GPU step (fused, Q-Sched folded in) against the CPU TCDScheduler.step on the same UNet output and noise.
        // No oracle trace has TCD in a pipeline; bound 1e-5 of max|x|: float32 rounding of the folded coefficients.
        pipe.setQSched({ m: 0.9, s: 1.05 });
        const traced = new Map<string, Float32Array>();
        await pipe.generate({ prompt: "a red circle", seed: 7, steps: 3, guidanceScale: 2, eta: 0.3, trace: async (name, v) => {
          traced.set(name, v instanceof Float32Array || v instanceof Int32Array ? Float32Array.from(v) : ((await pipe.gpu.read(v)) as Float32Array));
        } });
        const cpu = createScheduler(tcd as never, { qsched: { scheme: "linear", m: 0.9, s: 1.05 } });
        cpu.setTimesteps(3);
        for (let i = 0; i < 3; i++) {
          const sample = traced.get(i === 0 ? "latents_init" : `step${i - 1}.prev_sample`)!;
          const want = cpu.step(traced.get(`step${i}.noise_pred`)!, cpu.timesteps[i]!, sample, { eta: 0.3, noise: traced.get(`step${i}.sched_noise`) }).prevSample;
          expect(traced.has(`step${i}.sched_noise`)).toBe(i < 2); // TCD adds noise on every step but the last
          expect(relativeMaxError(traced.get(`step${i}.prev_sample`)!, want), `step ${i}`).toBeLessThan(1e-5);
        }
      } finally {
        pipe.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fromPretrained() options", () => {
  // A folder that does not exist: each of these must be refused before the folder is even opened.
  const missing = join(REPO_ROOT, "no-such-model");
  it("refuses unknown keys, naming diffusers' equivalent", async () => {
    await expect(QSchedPipeline.fromPretrained(missing, { torch_dtype: "f16" } as never)).rejects.toThrow(/fromPretrained: unknown option "torch_dtype" \(did you mean "dtype"\?\)/);
    await expect(QSchedPipeline.fromPretrained(missing, { quantization: "w4a8" } as never)).rejects.toThrow(/unknown option "quantization"; options: quant, policy/);
  });

  it("refuses a Q-Sched setting that is not finite, or explicit coefficients of unequal lengths, before reading weights", async () => {
    await expect(QSchedPipeline.fromPretrained(missing, { qsched: { m: NaN, s: 1 } })).rejects.toThrow(/Q-Sched: m\[0\] must be a finite number, found NaN/);
    await expect(QSchedPipeline.fromPretrained(missing, { qsched: { m: 0.9 } as never })).rejects.toThrow(/Q-Sched: s\[0\] must be a finite number, found undefined/);
    await expect(QSchedPipeline.fromPretrained(missing, { qsched: { modelCoeff: [1, 1], sampleCoeff: [1] } })).rejects.toThrow(/same non-zero length, found 2 and 1/);
    await expect(QSchedPipeline.fromPretrained(missing, { qsched: 0.9 as never })).rejects.toThrow(/qsched must be \{ m, s \}/);
    // The same folder with valid options fails on the folder, so the errors above came first.
    await expect(QSchedPipeline.fromPretrained(missing, { qsched: { m: 0.9, s: 0.9 } })).rejects.toThrow(/no-such-model/);
  });
});

describe("component configs are checked against each other before any weight is read", () => {
  // SDXL-Turbo's Hub values: two text encoders (768 + 1280 hidden), pooled projection 1280, 6 time ids of 256.
  const sdxl = () => ({
    unet: { cross_attention_dim: 2048, projection_class_embeddings_input_dim: 2816, addition_time_embed_dim: 256, in_channels: 4, out_channels: 4 },
    textEncoders: [{ hidden_size: 768, projection_dim: 768 }, { hidden_size: 1280, projection_dim: 1280 }],
    vae: { latent_channels: 4 },
  });
  const at = (p: string) => `model/${p}`;

  it("accepts SDXL-Turbo's own configs and names each mismatch with both numbers", () => {
    expect(() => checkComponentConfigs("sdxl", sdxl(), at)).not.toThrow();
    const swapped = sdxl();
    swapped.textEncoders[1]!.hidden_size = 1024; // an SD 2.x encoder in place of OpenCLIP-bigG
    expect(() => checkComponentConfigs("sdxl", swapped, at)).toThrow(
      "model/unet/config.json does not match the other components: cross_attention_dim is 2048, but the text encoders' hidden sizes add up to 1792 (text_encoder 768 + text_encoder_2 1024)",
    );
    const pooled = sdxl();
    pooled.textEncoders[1]!.projection_dim = 1024;
    expect(() => checkComponentConfigs("sdxl", pooled, at)).toThrow(/projection_class_embeddings_input_dim is 2816, but text_encoder_2's projection_dim 1024 \+ 6 × addition_time_embed_dim 256 = 2560/);
    const latents = sdxl();
    latents.vae.latent_channels = 16; // a FLUX / SD3 VAE
    expect(() => checkComponentConfigs("sdxl", latents, at)).toThrow(/in_channels is 4, but the VAE's latent_channels is 16/);
  });

  it("refuses an SDXL VAE with latents_mean / latents_std (decoded differently by diffusers), and downsample_padding 0", () => {
    const playground = sdxl() as ReturnType<typeof sdxl> & { vae: Record<string, unknown> };
    playground.vae.latents_mean = [-1.6574, 1.886, -1.383, 2.5155];
    playground.vae.latents_std = [8.4927, 5.9022, 6.5498, 5.2299];
    expect(() => checkComponentConfigs("sdxl", playground, at)).toThrow(/model\/vae\/config.json: latents_mean \/ latents_std .* are not supported yet/);
    expect(() => checkComponentConfigs("sd", { ...playground, textEncoders: [{ hidden_size: 2048 }] }, at)).not.toThrow(); // SD pipelines ignore them, as diffusers'
    const unet = JSON.parse(readFileSync(join(TOY, "unet/config.json"), "utf8")) as Record<string, unknown>;
    expect(() => parseUnetConfig({ ...unet, downsample_padding: 0 })).toThrow(/downsample_padding=0 is not supported \(expected 1\)/);
  });

  it("refuses what diffusers' pipelines would compute differently: use_attention_mask text encoders (SD/LCM), an LCM UNet under a non-LCM pipeline", () => {
    const sd = () => ({ unet: { cross_attention_dim: 1024, in_channels: 4, out_channels: 4 } as Record<string, unknown>, textEncoders: [{ hidden_size: 1024 } as Record<string, unknown>], vae: { latent_channels: 4 } });
    const masked = sd();
    masked.textEncoders[0]!.use_attention_mask = true;
    expect(() => checkComponentConfigs("sd", masked, at)).toThrow(/text_encoder\/config.json: use_attention_mask true .* is not supported/);
    expect(() => checkComponentConfigs("sd", { ...masked, textEncoders: [{ hidden_size: 1024, use_attention_mask: false }] }, at)).not.toThrow();
    const lcmUnet = sd();
    lcmUnet.unet.time_cond_proj_dim = 256;
    expect(() => checkComponentConfigs("sd", lcmUnet, at)).toThrow(/time_cond_proj_dim 256 .* under model_index's non-LCM pipeline is not supported/);
    expect(() => checkComponentConfigs("lcm", lcmUnet, at)).not.toThrow();
  });

  it("takes the pad token from tokenizer_config.json when special_tokens_map.json is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-pad-"));
    try {
      cpSync(TOY, dir, { recursive: true, filter: (p) => !/\.safetensors$/.test(p) });
      const padOf = async () => (await openPipelineFolder(nodeFolderSource(dir))).tokenizers[0]!.encode("a red circle").ids.at(-1);
      expect(await padOf()).toBe(0); // "!" from special_tokens_map.json
      rmSync(join(dir, "tokenizer/special_tokens_map.json"));
      expect(await padOf()).toBe(0); // "!" from tokenizer_config.json, not the <|endoftext|> fallback (49407)
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the toy with a UNet config that wants another text encoder fails in fromPretrained, not at the first generate()", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-configs-"));
    try {
      cpSync(TOY, dir, { recursive: true });
      const path = join(dir, "unet/config.json");
      const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      writeFileSync(path, JSON.stringify({ ...config, cross_attention_dim: 128 }));
      const gpu = await Gpu.create();
      const live = gpu.pool.live;
      await expect(QSchedPipeline.fromPretrained(dir, { gpu })).rejects.toThrow(/cross_attention_dim is 128, but the text encoder's hidden_size is 64/);
      expect(gpu.pool.live).toBe(live);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * AutoencoderKL decoder vs the pipelines' `activations/vae_decoder.safetensors` (shipped sd-turbo subset,
 * and all three pipelines of the full oracle when present), both attention paths, legacy attention names,
 * a discriminating GroupNorm-eps variant and config/checkpoint mismatches.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WeightSource } from "../../src/models/weights.ts";
import { VaeDecoder } from "../../src/models/vae/decoder.ts";
import { VAE_NORM_EPS } from "../../src/models/vae/config.ts";
import { sliceChannels } from "../../src/models/vae/channel-slices.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { componentSource, readJson } from "../../src/verify/pipeline/component-source.ts";
import { runVaeDecoderActivations, VAE_DECODER_TOL } from "../../src/verify/pipeline/vae-activations.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";


function folders(): { label: string; dir: string }[] {
  const out = [{ label: "fixtures tiny-sd-turbo", dir: join(FIXTURE_GOLDEN, "tiny-sd-turbo") }];
  const full = fullGoldenDir();
  if (full) for (const p of ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"]) out.push({ label: `full-oracle ${p}`, dir: join(full, p) });
  console.log(`[golden] vae: full oracle ${full ? "RUNS" : "NOT available (set QSCHED_GOLDEN)"}`);
  return out;
}

/** Counts gpu.copyRegions calls until stop(). */
function countCopies(gpu: Gpu): { count: number; stop(): void } {
  const original = gpu.copyRegions;
  const c = { count: 0, stop: () => void (gpu.copyRegions = original) };
  gpu.copyRegions = (...args) => {
    c.count++;
    return original.apply(gpu, args);
  };
  return c;
}

const worst = (r: { error?: number }[]) => Math.max(...r.map((x) => x.error ?? Infinity));

describe("VAE decoder activations (bound 1e-4 relative)", () => {
  for (const { label, dir } of folders()) {
    it(label, async () => {
      const gpu = await testGpu();
      const results = await runVaeDecoderActivations(gpu, dir);
      console.log(`${label}: worst ${worst(results).toExponential(2)} over ${results.length} tensors`);
      for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      expect(results.length).toBeGreaterThanOrEqual(6);
    });
  }

  it("the matmul attention path (used for heads wider than the flash kernel, e.g. SD's 512) agrees too", async () => {
    const gpu = await testGpu();
    const results = await runVaeDecoderActivations(gpu, join(FIXTURE_GOLDEN, "tiny-sd-turbo"), VAE_DECODER_TOL, { testVariants: { attention: "matmul" } });
    for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
  });

  // The tiny VAE's mid block has 8×8 latents (64 tokens, C = 16): 24-row blocks give three blocks, the last partial.
  it("the matmul path in blocks of query rows (scores over the binding limit, SDXL 1024²) agrees too", async () => {
    const gpu = await testGpu();
    const results = await runVaeDecoderActivations(gpu, join(FIXTURE_GOLDEN, "tiny-sd-turbo"), VAE_DECODER_TOL, { testVariants: { attention: "matmul", attentionBlockRows: 24 } });
    for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
  });

  // Activations over the binding limit run as channel slices (SD 512² on lavapipe's 128 MiB). A 72 KiB limit slices
  // the tiny VAE's 64² stage (its 16-channel upsampler output as 4 slices of one 4-channel group, the 8-channel
  // resnets as 2 slices of two groups), so the upsampler regroups its one input slice into four, convs sum over
  // input slices and the hooks see joined tensors; every hooked module must still match the oracle.
  it("channel slices (activations over the binding limit) agree too, and do slice", async () => {
    const gpu = await testGpu();
    const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo");
    const copies = countCopies(gpu);
    const results = await runVaeDecoderActivations(gpu, dir, VAE_DECODER_TOL, { testVariants: { maxSliceBytes: 72 * 1024 } });
    copies.stop();
    for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
    expect(results.length).toBeGreaterThanOrEqual(6);
    // Weight slices, regrouped inputs and the joins for hooks are copies; the plain decode makes none.
    expect(copies.count).toBeGreaterThan(20);
    const plain = countCopies(gpu);
    await runVaeDecoderActivations(gpu, dir);
    plain.stop();
    // The weight slices of a slicing are kept while decodes slice the same way and freed when they stop.
    const vae = VaeDecoder.load(gpu, componentSource(join(dir, "vae")), readJson(join(dir, "vae", "config.json")));
    const decode = async (size: number, maxSliceBytes?: number) => {
      const z = gpu.upload(new Float32Array(4 * size * size).fill(0.1), [1, 4, size, size]);
      (await vae.decode(z, maxSliceBytes ? { testVariants: { maxSliceBytes } } : {})).dispose();
      z.dispose();
      return gpu.pool.live;
    };
    const weights = await decode(8);
    const sliced = await decode(8, 72 * 1024);
    expect(sliced).toBeGreaterThan(weights);
    expect(await decode(8, 72 * 1024)).toBe(sliced);
    expect(await decode(8)).toBe(weights);
    vae.dispose();
    expect(plain.count).toBe(0);
  });

  it("slices hold whole groups, as few as fit, as even as groups allow", () => {
    expect(sliceChannels(256, 8, 512 * 512 * 4, 2 ** 27)).toEqual([128, 128]);
    expect(sliceChannels(128, 4, 512 * 512 * 4, 2 ** 27)).toEqual([128]);
    expect(sliceChannels(128, 4, 1024 * 1024 * 4, 2 ** 27)).toEqual([32, 32, 32, 32]);
    expect(sliceChannels(12, 2, 100, 500)).toEqual([4, 4, 4]);
    expect(sliceChannels(10, 2, 100, 500)).toEqual([4, 4, 2]);
    expect(() => sliceChannels(64, 8, 1000, 4000)).toThrow(/one group of 8 channels takes 8000 bytes, over the 4000-byte binding limit/);
  });
});

describe("discriminating: GroupNorm eps", () => {
  const dir = join(fullGoldenDir() ?? FIXTURE_GOLDEN, "tiny-sd-turbo");
  // GroupNorm is insensitive to eps when group variances are large (these activations reach ~1e2), so a wrong
  // eps shows up only from ~1e-2 at the default bound, and from ~3e-4 at a 1e-5 bound (9x the measured 1.1e-6).
  it("eps 1e-2 fails at the default bound and 1e-3 at a 1e-5 bound; 1e-5 (the UNet's norm_eps) is below what these fixtures resolve", async () => {
    const gpu = await testGpu();
    expect(VAE_NORM_EPS).toBe(1e-6);
    for (const [eps, tol] of [[1e-2, VAE_DECODER_TOL], [1e-3, 1e-5]] as const) {
      const wrong = await runVaeDecoderActivations(gpu, dir, tol, { testVariants: { groupNormEps: eps } });
      console.log(`eps ${eps}: worst ${worst(wrong).toExponential(2)} (tol ${tol})`);
      expect(wrong.find((r) => r.name === "vae decoder.conv_out")!.ok).toBe(false);
      expect(wrong.find((r) => r.name === "vae decoder.conv_in")!.ok).toBe(true);
    }
    const right = await runVaeDecoderActivations(gpu, dir, 1e-5);
    expect(right.every((r) => r.ok)).toBe(true);
    // Measured: the 1e-5 mix-up moves outputs by ~2e-7 relative here (group variances are O(1) with these
    // random weights), the same size as f32 noise, so no tolerance can separate it on these fixtures.
    const near = await runVaeDecoderActivations(gpu, dir, VAE_DECODER_TOL, { testVariants: { groupNormEps: 1e-5 } });
    console.log(`eps 1e-5: worst ${worst(near).toExponential(2)} (not resolvable)`);
  });
});

/** The same checkpoint with diffusers' legacy attention names (query/key/value/proj_attn). */
function legacyNames(src: WeightSource): WeightSource {
  const toLegacy = (n: string) => n.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.").replace(".to_out.0.", ".proj_attn.");
  const fromLegacy = new Map(src.names().map((n) => [toLegacy(n), n]));
  return {
    where: `${src.where} (legacy names)`,
    names: () => [...fromLegacy.keys()],
    has: (n) => fromLegacy.has(n),
    shape: (n) => src.shape(fromLegacy.get(n)!),
    f32: (n) => src.f32(fromLegacy.get(n)!),
  };
}

describe("checkpoint variants and bad input", () => {
  const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo", "vae");

  it("legacy attention names decode to the same image", async () => {
    const gpu = await testGpu();
    const raw = readJson(join(dir, "config.json"));
    const modern = VaeDecoder.load(gpu, componentSource(dir), raw);
    const legacy = VaeDecoder.load(gpu, legacyNames(componentSource(dir)), raw);
    expect(legacy.weights.has("decoder.mid_block.attentions.0.query.weight")).toBe(true);
    gpu.flush();
    const z = gpu.upload(Float32Array.from({ length: 4 * 3 * 5 }, (_, i) => Math.sin(i)), [1, 4, 3, 5]);
    const a = await gpu.read(await modern.decode(z));
    const b = await gpu.read(await legacy.decode(z));
    expect(a.length).toBe(3 * 24 * 40);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBe(0);
  });

  it("rejects wrong latent channels and a config with a different number of blocks, naming both", async () => {
    const gpu = await testGpu();
    const raw = readJson(join(dir, "config.json"));
    const vae = VaeDecoder.load(gpu, componentSource(dir), raw);
    const z = gpu.upload(new Float32Array(3 * 4), [1, 3, 2, 2]);
    await expect(vae.decode(z)).rejects.toThrow("VAE decode: z must be [B, 4, h, w] (latent_channels), got [1, 3, 2, 2]");
    const { up_block_types: _u, ...noTypes } = raw;
    expect(() => VaeDecoder.load(gpu, componentSource(dir), { ...noTypes, block_out_channels: [8, 16, 16] })).toThrow(/has 4 decoder up blocks, the config's block_out_channels has 3/);
    const wide = VaeDecoder.load(gpu, componentSource(dir), { ...raw, block_out_channels: [8, 16, 16, 32] });
    const z4 = gpu.upload(new Float32Array(4 * 4), [1, 4, 2, 2]);
    await expect(wide.decode(z4)).rejects.toThrow('tensor "decoder.conv_in.weight" has shape [16, 4, 3, 3], the model config expects [32, 4, 3, 3]');
  });
});

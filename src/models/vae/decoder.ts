/**
 * diffusers AutoencoderKL decoder: post_quant_conv → decoder.conv_in → mid block (resnet, attention,
 * resnet) → up blocks (resnets + nearest-2× upsampler) → conv_norm_out + SiLU → conv_out.
 * `decode(z)` expects z = latents / scaling_factor (+ shift): dividing is the caller's job, as in
 * diffusers' pipelines (`vae.decode(latents / vae.config.scaling_factor)`); see `config.scalingFactor`.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { asDType } from "../../ops/cast.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { ModelWeights, type WeightSource } from "../weights.ts";
import { convLayer, midAttention, resnet, upsample, type VaeBlockContext, type VaeTestVariants } from "./blocks.ts";
import { convSlices, disposeSlices, groupNormSlices, joined, siluSlices, type Slices } from "./channel-slices.ts";
import { parseVaeConfig, VAE_NORM_EPS, type VaeConfig } from "./config.ts";

/** Receives each hooked module's output (names as in the activations README); read it before returning. */
export type VaeHook = (module: string, t: Tensor) => void | Promise<void>;

/** Progress of a decode: `done` of `total` stages (conv_in, mid block, each up block, conv_out) finished. */
export interface VaeProgress {
  module: string;
  done: number;
  total: number;
}

export interface VaeDecodeOptions {
  hook?: VaeHook;
  /**
   * Called after each stage. The stages are waited for on the GPU first (a submitted stage is not a finished one),
   * so progress costs one sync per stage: a full-size decode on a CPU adapter takes minutes.
   */
  onProgress?: (p: VaeProgress) => void;
  /** @internal */
  testVariants?: VaeTestVariants;
}

export interface VaeLoadOptions {
  /** Prefix of the tensors in the source, default none. */
  prefix?: string;
  /** Storage type of weights and activations (default f32; f16 needs shader-f16, math stays f32 in the kernels). */
  dtype?: "f32" | "f16";
}

export class VaeDecoder {
  private constructor(
    readonly gpu: Gpu,
    readonly config: VaeConfig,
    readonly weights: ModelWeights,
  ) {}

  /** Weights cut for layers that run on channel slices (channel-slices.ts), made at their first decode. */
  private readonly weightSlices = new Map<string, Tensor>();

  /**
   * Checks the decoder's block count against the config, then uploads every decoder weight now (an
   * upload during a forward could take a pool buffer a recorded, unsubmitted dispatch still writes).
   */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: VaeLoadOptions = {}): VaeDecoder {
    const p = VaeDecoder.prepare(gpu, source, rawConfig, opts);
    for (const n of p.names) p.weights.get(n);
    return new VaeDecoder(gpu, p.config, p.weights);
  }

  /**
   * `load` over a streaming source: each tensor fetched just before its upload and dropped after (the
   * encoder's tensors are never read). `signal` aborts between tensors, freeing what was uploaded.
   */
  static async loadStreaming(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: VaeLoadOptions & { signal?: AbortSignal } = {}): Promise<VaeDecoder> {
    const p = VaeDecoder.prepare(gpu, source, rawConfig, opts);
    await p.weights.uploadAll(p.names, opts.signal);
    return new VaeDecoder(gpu, p.config, p.weights);
  }

  /** Config checks and the decoder weights to upload (names relative to the prefix, in source order). */
  private static prepare(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: VaeLoadOptions) {
    const config = parseVaeConfig(rawConfig);
    if (opts.dtype === "f16" && !gpu.ctx.caps.f16) throw new Error("VAE: dtype f16 needs the WebGPU feature shader-f16, which this adapter does not have");
    const weights = new ModelWeights(gpu, source, opts.dtype ?? "f32", opts.prefix ?? "");
    const blocks = new Set(source.names().map((n) => /decoder\.up_blocks\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined)).size;
    if (blocks !== config.blockOutChannels.length) {
      throw new Error(`VAE: ${source.where} has ${blocks} decoder up blocks, the config's block_out_channels has ${config.blockOutChannels.length}`);
    }
    const mine = (n: string) => n.startsWith("decoder.") || n.startsWith("post_quant_conv.");
    const names = source.names().filter((n) => n.startsWith(weights.prefix)).map((n) => n.slice(weights.prefix.length)).filter(mine);
    return { config, weights, names };
  }

  /** Storage type of the weights and activations. */
  get dtype(): "f32" | "f16" {
    return this.weights.dtype;
  }

  /**
   * z [B, latent_channels, h, w] (already divided by scaling_factor) → image [B, out_channels, 8h, 8w] in
   * about [-1, 1], in z's dtype (z is converted to the model's dtype first, the image back). `z` is not disposed.
   */
  async decode(z: Tensor, opts: VaeDecodeOptions = {}): Promise<Tensor> {
    const { gpu, config: cfg } = this;
    if (z.rank !== 4 || z.shape[1] !== cfg.latentChannels) {
      throw new Error(`VAE decode: z must be [B, ${cfg.latentChannels}, h, w] (latent_channels), got [${z.shape.join(", ")}]`);
    }
    if (z.dtype === this.dtype) return this.run(z, opts);
    const zIn = await asDType(gpu, z, this.dtype);
    try {
      const image = await this.run(zIn.t, opts);
      const out = await asDType(gpu, image, z.dtype as "f32" | "f16");
      if (out.owned) image.dispose();
      return out.t;
    } finally {
      if (zIn.owned) zIn.t.dispose();
    }
  }

  /**
   * One decode; afterwards the weight slices it did not use are freed: another size or batch slices other ranges,
   * and keeping every slicing ever seen would grow with each new size (the last one's stay for the next decode).
   */
  private async run(z: Tensor, opts: VaeDecodeOptions): Promise<Tensor> {
    const used = new Set<string>();
    try {
      return await this.decodeLayers(z, opts, used);
    } finally {
      for (const [key, t] of this.weightSlices) {
        if (used.has(key)) continue;
        t.dispose();
        this.weightSlices.delete(key);
      }
    }
  }

  private async decodeLayers(z: Tensor, opts: VaeDecodeOptions, usedSlices: Set<string>): Promise<Tensor> {
    const { gpu, config: cfg } = this;
    const ctx: VaeBlockContext = {
      gpu,
      weights: this.weights,
      groups: cfg.normGroups,
      eps: opts.testVariants?.groupNormEps ?? VAE_NORM_EPS,
      variants: opts.testVariants ?? {},
      weightSlices: this.weightSlices,
      usedSlices,
    };
    // Hooks see whole tensors: a sliced activation is joined for them (only when a hook is given).
    const hook = async (module: string, xs: Slices) => {
      if (!opts.hook) return;
      const j = await joined(gpu, xs);
      try {
        await opts.hook(module, j.t);
      } finally {
        if (j.owned) j.t.dispose();
      }
    };
    const w = this.weights;
    const lc = cfg.latentChannels;
    let x = z;
    if (cfg.usePostQuantConv) {
      x = await gpu.scope("post_quant_conv", () => conv2d(gpu, z, w.get("post_quant_conv.weight", [lc, lc, 1, 1]), w.get("post_quant_conv.bias", [lc])));
      await hook("post_quant_conv", [x]);
    }
    const dctx: VaeBlockContext = { ...ctx, weights: w.scope("decoder.") };
    const rev = [...cfg.blockOutChannels].reverse();
    const convIn = await gpu.scope("decoder.conv_in", () => convLayer(dctx, "conv_in", x, rev[0]!, 3));
    if (x !== z) x.dispose();
    // From here on activations are channel slices (channel-slices.ts): one slice each unless over the binding limit.
    let h: Slices = [convIn];
    await hook("decoder.conv_in", h);
    const total = cfg.blockOutChannels.length + 3;
    let done = 0;
    const progress = async (module: string) => {
      if (!opts.onProgress) return;
      await gpu.sync();
      opts.onProgress({ module, done: ++done, total });
    };
    await progress("decoder.conv_in");
    const step = async (scope: string, f: (xs: Slices) => Promise<Slices>) => {
      const next = await gpu.scope(scope, () => f(h)).finally(() => disposeSlices(h));
      h = next;
      await hook(scope, h);
      await progress(scope);
    };
    await step("decoder.mid_block", async (xs) => {
      const r0 = await resnet(dctx, "mid_block.resnets.0", xs, rev[0]!);
      if (!cfg.midBlockAttention) return resnet(dctx, "mid_block.resnets.1", r0, rev[0]!).finally(() => disposeSlices(r0));
      // The mid block runs at the latent size (SD 512²: 512 channels at 64², 8 MiB): one slice.
      if (r0.length !== 1) throw new Error(`VAE: the mid block's input is ${r0.length} channel slices; its attention needs one tensor within the binding limit`);
      const a = await midAttention(dctx, "mid_block.attentions.0", r0[0]!).finally(() => disposeSlices(r0));
      return resnet(dctx, "mid_block.resnets.1", [a], rev[0]!).finally(() => a.dispose());
    });
    for (let i = 0; i < rev.length; i++) {
      await step(`decoder.up_blocks.${i}`, async (xs) => {
        let y = xs;
        for (let j = 0; j <= cfg.layersPerBlock; j++) {
          const r = await resnet(dctx, `up_blocks.${i}.resnets.${j}`, y, rev[i]!).finally(() => y !== xs && disposeSlices(y));
          y = r;
        }
        if (i === rev.length - 1) return y;
        return upsample(dctx, `up_blocks.${i}.upsamplers.0`, y).finally(() => disposeSlices(y));
      });
    }
    const n = await gpu.scope("decoder.conv_norm_out", () => groupNormSlices(dctx, "conv_norm_out", h, false)).finally(() => disposeSlices(h));
    await hook("decoder.conv_norm_out", n);
    // Not fused into the GroupNorm: conv_norm_out's output is hooked before the SiLU.
    const s = await siluSlices(gpu, n).finally(() => disposeSlices(n));
    const out = await gpu.scope("decoder.conv_out", () => convSlices(dctx, "conv_out", s, cfg.outChannels, 3)).finally(() => disposeSlices(s));
    await hook("decoder.conv_out", out);
    await progress("decoder.conv_out");
    const image = await joined(gpu, out);
    if (image.owned) disposeSlices(out);
    return image.t;
  }

  dispose(): void {
    this.weights.dispose();
    for (const t of this.weightSlices.values()) t.dispose();
    this.weightSlices.clear();
  }
}

/**
 * diffusers AutoencoderKL decoder: post_quant_conv → decoder.conv_in → mid block (resnet, attention,
 * resnet) → up blocks (resnets + nearest-2× upsampler) → conv_norm_out + SiLU → conv_out.
 * `decode(z)` expects z = latents / scaling_factor (+ shift): dividing is the caller's job, as in
 * diffusers' pipelines (`vae.decode(latents / vae.config.scaling_factor)`); see `config.scalingFactor`.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { silu } from "../../ops/activation.ts";
import { asDType } from "../../ops/cast.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { ModelWeights, type WeightSource } from "../weights.ts";
import { convLayer, groupNormLayer, midAttention, resnet, upsample, type VaeBlockContext, type VaeTestVariants } from "./blocks.ts";
import { parseVaeConfig, VAE_NORM_EPS, type VaeConfig } from "./config.ts";

/** Receives each hooked module's output (names as in the activations README); read it before returning. */
export type VaeHook = (module: string, t: Tensor) => void | Promise<void>;

export interface VaeDecodeOptions {
  hook?: VaeHook;
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

  private async run(z: Tensor, opts: VaeDecodeOptions): Promise<Tensor> {
    const { gpu, config: cfg } = this;
    const hook = opts.hook ?? (() => {});
    const ctx: VaeBlockContext = { gpu, weights: this.weights, groups: cfg.normGroups, eps: opts.testVariants?.groupNormEps ?? VAE_NORM_EPS, variants: opts.testVariants ?? {} };
    const w = this.weights;
    const lc = cfg.latentChannels;
    let x = z;
    if (cfg.usePostQuantConv) {
      x = await gpu.scope("post_quant_conv", () => conv2d(gpu, z, w.get("post_quant_conv.weight", [lc, lc, 1, 1]), w.get("post_quant_conv.bias", [lc])));
      await hook("post_quant_conv", x);
    }
    const dctx: VaeBlockContext = { ...ctx, weights: w.scope("decoder.") };
    const rev = [...cfg.blockOutChannels].reverse();
    let h = await gpu.scope("decoder.conv_in", () => convLayer(dctx, "conv_in", x, rev[0]!, 3));
    if (x !== z) x.dispose();
    await hook("decoder.conv_in", h);
    h = await gpu.scope("decoder.mid_block", async () => {
      const r0 = await resnet(dctx, "mid_block.resnets.0", h, rev[0]!);
      h.dispose();
      let a = r0;
      if (cfg.midBlockAttention) {
        a = await midAttention(dctx, "mid_block.attentions.0", r0);
        r0.dispose();
      }
      const r1 = await resnet(dctx, "mid_block.resnets.1", a, rev[0]!);
      a.dispose();
      return r1;
    });
    await hook("decoder.mid_block", h);
    for (let i = 0; i < rev.length; i++) {
      h = await gpu.scope(`decoder.up_blocks.${i}`, async () => {
        let y = h;
        for (let j = 0; j <= cfg.layersPerBlock; j++) {
          const r = await resnet(dctx, `up_blocks.${i}.resnets.${j}`, y, rev[i]!);
          y.dispose();
          y = r;
        }
        if (i < rev.length - 1) {
          const u = await upsample(dctx, `up_blocks.${i}.upsamplers.0`, y);
          y.dispose();
          y = u;
        }
        return y;
      });
      await hook(`decoder.up_blocks.${i}`, h);
    }
    const n = await gpu.scope("decoder.conv_norm_out", () => groupNormLayer(dctx, "conv_norm_out", h, false));
    h.dispose();
    await hook("decoder.conv_norm_out", n);
    // Not fused into the GroupNorm: conv_norm_out's output is hooked before the SiLU.
    const s = await silu(gpu, n);
    n.dispose();
    const out = await gpu.scope("decoder.conv_out", () => convLayer(dctx, "conv_out", s, cfg.outChannels, 3));
    s.dispose();
    await hook("decoder.conv_out", out);
    return out;
  }

  dispose(): void {
    this.weights.dispose();
  }
}

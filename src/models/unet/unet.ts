/**
 * diffusers UNet2DConditionModel forward: conv_in → conditioning embedding → down blocks → mid block
 * → up blocks (skip concatenation) → GroupNorm + SiLU → conv_out. Float weights, or nn.Linear
 * weights quantized at load under the torchao policy, or convolutions too under policy `all`.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { silu } from "../../ops/activation.ts";
import { asDType } from "../../ops/cast.ts";
import type { ScaleStorage } from "../../ops/quant-weight.ts";
import type { QuantFormat } from "../../quant/formats.ts";
import { ModelWeights, streamEach, type WeightSource } from "../weights.ts";
import { parseUnetConfig, type UnetConfig } from "./config.ts";
import { convLayer, emit, groupNormLayer, type UnetContext, type UnetHook, type UnetTestVariants } from "./context.ts";
import { downBlock } from "./down-block.ts";
import { conditioningEmbedding, timeProjections, type TimeProjections } from "./embeddings.ts";
import { midBlock } from "./mid-block.ts";
import { quantizedLoader, type PrepackedWeights, type QuantizedLinears } from "../quantized-linears.ts";
import { upBlock } from "./up-block.ts";

/** VAE downscale between pixels and latents. */
export const LATENT_SCALE = 8;

/** Latent [h, w] for an image size in pixels; both must be multiples of 8 (the VAE factor). */
export function latentSizeFor(heightPx: number, widthPx: number): [number, number] {
  for (const [name, v] of [["height", heightPx], ["width", widthPx]] as const) {
    if (!Number.isInteger(v) || v < LATENT_SCALE || v % LATENT_SCALE !== 0) {
      throw new Error(`unet: image ${name} ${v} px is not a positive multiple of ${LATENT_SCALE} (latents are 1/${LATENT_SCALE} of the pixel size)`);
    }
  }
  return [heightPx / LATENT_SCALE, widthPx / LATENT_SCALE];
}

export interface UnetInputs {
  /** Noisy latents [B, in_channels, h, w]. */
  sample: Tensor;
  /** One timestep for the whole batch, or one per row. */
  timestep: number | readonly number[];
  /** Text conditioning [B, L, cross_attention_dim]. */
  encoderHiddenStates: Tensor;
  /** LCM (time_cond_proj_dim): guidance embedding [B, time_cond_proj_dim]. */
  timestepCond?: Tensor;
  /** SDXL: pooled text embeds [B, P]. */
  textEmbeds?: Tensor;
  /** SDXL: add_time_ids, row-major [B, 6]. */
  timeIds?: ArrayLike<number>;
  /**
   * Pre-uploaded `timeProjections()` for this call (a recorded plan writes new values into them each
   * step); when omitted they are computed from `timestep` / `timeIds` and uploaded first thing.
   */
  projections?: TimeProjections;
}

export interface UnetForwardOptions {
  /** Receives each hooked module's output (read it before returning; the model disposes it later). */
  hook?: UnetHook;
  /** @internal Deliberately wrong numerics for the discriminating tests. */
  testVariants?: UnetTestVariants;
}

export interface UnetLoadOptions {
  /** Quantize weights in this format; float when omitted. */
  quant?: QuantFormat;
  /**
   * Which weights: `torchao` (default, the paper's: nn.Linear with torchao's skip rules) or `all`
   * (ours: convolutions too, weight codes dequantized in the conv kernel; norms, embeddings,
   * conv_in/conv_out and time projections stay float).
   */
  policy?: "torchao" | "all";
  /** Group size of 4-bit formats (default: the format's, 32 for W4A8). */
  groupSize?: number;
  /**
   * GPU storage of quantized weights' scales (and W4A16 zero points): "f32" (default, torchao's values
   * exactly) or "f16" (half the bytes, each value rounded once to f16; no shader-f16 needed).
   */
  scaleStorage?: ScaleStorage;
  /** Name prefix of the UNet's tensors in the source (e.g. "unet." in a pack), default none. */
  prefix?: string;
  /**
   * Weights quantized ahead of time, by full checkpoint name, uploaded as they are (instead of `quant`).
   * The source is never asked for their floats: these names are skipped by the float upload.
   */
  prepacked?: PrepackedWeights;
  /**
   * Storage type of float weights and activations (default f32). f16 needs shader-f16; math inside
   * each kernel stays f32 (matmul/conv accumulators, norm and softmax reductions). Inputs of another
   * type are converted at the boundary and the prediction comes back in the sample's type.
   */
  dtype?: "f32" | "f16";
}

export class Unet {
  private readonly used = new Set<string>();

  private constructor(
    readonly gpu: Gpu,
    readonly config: UnetConfig,
    readonly weights: ModelWeights,
    readonly quantized: QuantizedLinears | null,
  ) {}

  /** Parses the config (rejecting unsupported options by name), quantizes linears if asked, uploads every weight. */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: UnetLoadOptions = {}): Unet {
    const l = Unet.loader(gpu, source, rawConfig, opts);
    for (const full of l.names) l.step(full);
    return l.finish();
  }

  /**
   * `load` over a streaming source (src/pipeline/component-tensors.ts): each tensor is fetched in file
   * order, uploaded (or quantized and packed, or, from a pack, uploaded as stored), and dropped before
   * the next, so the CPU holds one tensor at a time. Same uploads as `load`. `signal` aborts between
   * tensors; on failure every weight uploaded so far is freed.
   */
  static async loadStreaming(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: UnetLoadOptions & { signal?: AbortSignal } = {}): Promise<Unet> {
    const l = Unet.loader(gpu, source, rawConfig, opts);
    try {
      await streamEach(source, l.names, l.step, opts.signal);
    } catch (e) {
      l.abandon();
      throw e;
    }
    return l.finish();
  }

  /**
   * The per-tensor work shared by both loads: a prepacked weight is uploaded as stored, a weight the
   * quantization policy takes is quantized and packed, anything else uploads as a float weight.
   * Shapes are checked when the forward asks.
   */
  private static loader(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: UnetLoadOptions) {
    const config = parseUnetConfig(rawConfig);
    const prefix = opts.prefix ?? "";
    if (opts.dtype === "f16" && !gpu.ctx.caps.f16) throw new Error("unet: dtype f16 needs the WebGPU feature shader-f16, which this adapter does not have");
    if (opts.quant && opts.prepacked) throw new Error("Unet.load: give quant (quantize at load) or prepacked weights, not both");
    const weights = new ModelWeights(gpu, source, opts.dtype ?? "f32", prefix);
    const q = opts.prepacked || opts.quant ? quantizedLoader(gpu, { format: opts.quant, prefix, groupSize: opts.groupSize, policy: opts.policy, scaleStorage: opts.scaleStorage }) : null;
    // A prepacked name the source does not list is still uploaded (as the whole-map upload did).
    const extra = opts.prepacked ? [...opts.prepacked.keys()].filter((n) => !source.has(n)) : [];
    for (const full of extra) q!.prepacked(full, opts.prepacked!.get(full)!);
    return {
      names: source.names().filter((n) => n.startsWith(prefix)),
      // Every float weight is uploaded at load: an upload during a forward could take a pool buffer
      // that a recorded-but-unsubmitted dispatch still reads.
      step: (full: string): void => {
        const w = opts.prepacked?.get(full);
        if (w && q!.prepacked(full, w)) return;
        if (q?.quantize(source, full)) return;
        weights.get(full.slice(prefix.length));
      },
      finish: () => new Unet(gpu, config, weights, q?.result() ?? null),
      abandon: () => {
        weights.dispose();
        q?.result().dispose();
      },
    };
  }

  /** Storage type of the weights and activations. */
  get dtype(): "f32" | "f16" {
    return this.weights.dtype;
  }

  /**
   * One UNet call → noise prediction [B, out_channels, h, w] in the sample's dtype. Tensor inputs of
   * another dtype than the model's are converted first (an f16 UNet keeps the scheduler's latents f32:
   * the per-step update x + (σ' − σ)·ε loses less in f32 than the model's own rounding).
   */
  async forward(inputs: UnetInputs, opts: UnetForwardOptions = {}): Promise<Tensor> {
    const timesteps = this.checkInputs(inputs);
    if (inputs.projections && inputs.projections.timeProj.dtype !== this.dtype) {
      throw new Error(`unet: projections must be ${this.dtype} like the model (timeProjections(..., unet.dtype)), got ${inputs.projections.timeProj.dtype}`);
    }
    const converted: Tensor[] = [];
    const own = async <T extends Tensor | undefined>(t: T): Promise<T> => {
      if (!t) return t;
      const c = await asDType(this.gpu, t, this.dtype);
      if (c.owned) converted.push(c.t);
      return c.t as T;
    };
    try {
      const out = await this.run(
        { ...inputs, sample: await own(inputs.sample), encoderHiddenStates: await own(inputs.encoderHiddenStates), timestepCond: await own(inputs.timestepCond), textEmbeds: await own(inputs.textEmbeds) },
        timesteps,
        opts,
      );
      if (out.dtype === inputs.sample.dtype) return out;
      const back = await asDType(this.gpu, out, inputs.sample.dtype as "f32" | "f16");
      out.dispose();
      return back.t;
    } finally {
      for (const t of converted) t.dispose();
    }
  }

  private async run(inputs: UnetInputs, timesteps: number[], opts: UnetForwardOptions): Promise<Tensor> {
    const cfg = this.config;
    const { sample, encoderHiddenStates: context } = inputs;
    const ctx: UnetContext = {
      gpu: this.gpu,
      weights: this.weights,
      quantized: this.quantized?.weights ?? new Map(),
      quantizedConvs: this.quantized?.convs ?? new Map(),
      config: cfg,
      hook: opts.hook,
      variants: opts.testVariants ?? {},
      used: this.used,
    };
    const given = inputs.projections;
    if (given && given.timeProj.shape.join() !== [timesteps.length, cfg.timeProjDim].join()) {
      throw new Error(`unet: projections.timeProj must be [${timesteps.length}, ${cfg.timeProjDim}] (batch, time_proj dim), got [${given.timeProj.shape.join(", ")}]`);
    }
    const projections = given ?? timeProjections(this.gpu, cfg, timesteps, inputs.timeIds, this.dtype, ctx.variants);
    const temb = await conditioningEmbedding(ctx, { ...projections, timestepCond: inputs.timestepCond, textEmbeds: inputs.textEmbeds });
    if (!inputs.projections) {
      projections.timeProj.dispose();
      projections.addTimeProj?.dispose();
    }
    // Every resnet reads silu(temb): computed once per call.
    const tembAct = await silu(this.gpu, temb);
    temb.dispose();

    let h = await convLayer(ctx, "conv_in", sample, cfg.blockOutChannels[0]!, cfg.convInKernel);
    await emit(ctx, "conv_in", h);
    const skips: Tensor[] = [h];
    for (let i = 0; i < cfg.blockOutChannels.length; i++) h = await downBlock(ctx, i, h, tembAct, context, skips);
    // h is the last skip here: the mid block reads it without taking it over.
    h = await midBlock(ctx, h, tembAct, context);
    for (let i = 0; i < cfg.upBlockTypes.length; i++) h = await upBlock(ctx, i, h, tembAct, context, skips);
    tembAct.dispose();

    const normed = await this.normOut(ctx, h);
    h.dispose();
    const out = await convLayer(ctx, "conv_out", normed, cfg.outChannels, cfg.convOutKernel);
    normed.dispose();
    await emit(ctx, "conv_out", out);
    return out;
  }

  /** conv_norm_out + SiLU, fused; unfused when hooked, since the hook reports the norm before the SiLU. */
  private async normOut(ctx: UnetContext, h: Tensor): Promise<Tensor> {
    if (!ctx.hook) return groupNormLayer(ctx, "conv_norm_out", h, this.config.normEps, true);
    const normed = await groupNormLayer(ctx, "conv_norm_out", h, this.config.normEps, false);
    await emit(ctx, "conv_norm_out", normed);
    const act = await silu(this.gpu, normed);
    normed.dispose();
    return act;
  }

  /** Checkpoint tensors no forward has read so far: after one call, a config/checkpoint mismatch shows up here. */
  unused(): string[] {
    const prefix = this.weights.prefix;
    return this.weights.source.names().filter((n) => n.startsWith(prefix) && !this.used.has(n.slice(prefix.length)));
  }

  dispose(): void {
    this.weights.dispose();
    this.quantized?.dispose();
  }

  private checkInputs(inputs: UnetInputs): number[] {
    const cfg = this.config;
    const { sample, encoderHiddenStates: ctx } = inputs;
    if (sample.rank !== 4 || sample.shape[1] !== cfg.inChannels) {
      throw new Error(`unet: sample must be [B, ${cfg.inChannels}, h, w] (in_channels), got [${sample.shape.join(", ")}]`);
    }
    const batch = sample.shape[0]!;
    if (ctx.rank !== 3 || ctx.shape[0] !== batch || ctx.shape[2] !== cfg.crossAttentionDim) {
      throw new Error(`unet: encoder_hidden_states must be [${batch}, L, ${cfg.crossAttentionDim}] (batch, cross_attention_dim), got [${ctx.shape.join(", ")}]`);
    }
    const ts = typeof inputs.timestep === "number" ? [inputs.timestep] : [...inputs.timestep];
    if (ts.length !== 1 && ts.length !== batch) throw new Error(`unet: timestep must have 1 or ${batch} (batch) values, got ${ts.length}`);
    return ts.length === batch ? ts : Array(batch).fill(ts[0]);
  }
}

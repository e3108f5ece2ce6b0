/**
 * diffusers AutoencoderTiny decoder (TAESD / TAESDXL): x = tanh(z/3)·3, conv + ReLU, then per stage
 * `num_decoder_blocks[i]` blocks relu(conv(relu(conv(relu(conv x)))) + skip x), nearest 2× upsample and a
 * bias-free conv (the last stage: no upsample, conv to RGB with bias); output x·2 − 1 (image in [-1, 1]).
 * Weight names `decoder.layers.<index in the nn.Sequential>.*`. scaling_factor is 1: latents go in as they are.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { Tensor } from "../../gpu/tensor.ts";
import { relu, tanh } from "../../ops/activation.ts";
import { add } from "../../ops/binary.ts";
import { asDType } from "../../ops/cast.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { scale } from "../../ops/scale.ts";
import { upsampleNearest2x } from "../../ops/upsample.ts";
import { ModelWeights, type WeightSource } from "../weights.ts";

export interface TaesdConfig {
  latentChannels: number;
  outChannels: number;
  decoderChannels: number[];
  decoderBlocks: number[];
  upsampleFactor: number;
}

export function parseTaesdConfig(raw: Record<string, unknown>): TaesdConfig {
  const list = (key: string): number[] => {
    const v = raw[key];
    if (!Array.isArray(v) || v.some((c) => typeof c !== "number")) throw new Error(`TAESD config: "${key}" must be a list of numbers, found ${JSON.stringify(v)}`);
    return v as number[];
  };
  const act = raw.act_fn ?? "relu";
  if (act !== "relu") throw new Error(`TAESD config: act_fn ${JSON.stringify(act)} is not supported (expected "relu")`);
  if ((raw.upsample_fn ?? "nearest") !== "nearest") throw new Error(`TAESD config: upsample_fn ${JSON.stringify(raw.upsample_fn)} is not supported (expected "nearest")`);
  // The pipeline decodes latents / scaling_factor (+ shift): TAESD and TAESDXL use 1 and 0, which is all we apply.
  if ((raw.scaling_factor ?? 1) !== 1 || (raw.shift_factor ?? 0) !== 0) {
    throw new Error(`TAESD config: scaling_factor ${JSON.stringify(raw.scaling_factor)} / shift_factor ${JSON.stringify(raw.shift_factor ?? 0)} are not supported (expected 1 and 0, as TAESD and TAESDXL have)`);
  }
  const factor = raw.upsampling_scaling_factor ?? 2;
  if (factor !== 2) throw new Error(`TAESD config: upsampling_scaling_factor ${JSON.stringify(factor)} is not supported (expected 2)`);
  const cfg = {
    latentChannels: (raw.latent_channels as number) ?? 4,
    outChannels: (raw.out_channels as number) ?? 3,
    decoderChannels: list(raw.decoder_block_out_channels !== undefined ? "decoder_block_out_channels" : "block_out_channels"),
    decoderBlocks: list("num_decoder_blocks"),
    upsampleFactor: 2,
  };
  if (cfg.decoderChannels.length !== cfg.decoderBlocks.length) {
    throw new Error(`TAESD config: ${cfg.decoderChannels.length} decoder_block_out_channels but ${cfg.decoderBlocks.length} num_decoder_blocks`);
  }
  return cfg;
}

/** diffusers' latent clamp tanh(x/3)·3 (x/3 as a multiply by 1/3: within 1 ulp of torch's division). */
async function clampLatents(gpu: Gpu, z: Tensor): Promise<Tensor> {
  const a = await scale(gpu, z, 1 / 3);
  const t = await tanh(gpu, a);
  a.dispose();
  const y = await scale(gpu, t, 3);
  t.dispose();
  return y;
}

export class TaesdDecoder {
  private constructor(
    readonly gpu: Gpu,
    readonly config: TaesdConfig,
    readonly weights: ModelWeights,
  ) {}

  /** Uploads every decoder weight now (uploads during a forward could race recycled pool buffers). */
  /** `dtype`: storage type of weights and activations (default f32; f16 needs shader-f16). */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: { prefix?: string; dtype?: "f32" | "f16" } = {}): TaesdDecoder {
    const p = TaesdDecoder.prepare(gpu, source, rawConfig, opts);
    for (const n of p.names) p.weights.get(n);
    return new TaesdDecoder(gpu, p.config, p.weights);
  }

  /** `load` over a streaming source: one tensor fetched, uploaded and dropped at a time; `signal` aborts between tensors. */
  static async loadStreaming(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: { prefix?: string; dtype?: "f32" | "f16"; signal?: AbortSignal } = {}): Promise<TaesdDecoder> {
    const p = TaesdDecoder.prepare(gpu, source, rawConfig, opts);
    await p.weights.uploadAll(p.names, opts.signal);
    return new TaesdDecoder(gpu, p.config, p.weights);
  }

  private static prepare(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: { prefix?: string; dtype?: "f32" | "f16" }) {
    const config = parseTaesdConfig(rawConfig);
    if (opts.dtype === "f16" && !gpu.ctx.caps.f16) throw new Error("TAESD: dtype f16 needs the WebGPU feature shader-f16, which this adapter does not have");
    const weights = new ModelWeights(gpu, source, opts.dtype ?? "f32", (opts.prefix ?? "") + "decoder.layers.");
    const names = source.names().filter((n) => n.startsWith(weights.prefix)).map((n) => n.slice(weights.prefix.length));
    return { config, weights, names };
  }

  private async conv(index: string, x: Tensor, out: number, bias: boolean): Promise<Tensor> {
    const w = this.weights.get(`${index}.weight`, [out, x.shape[1]!, 3, 3]);
    return conv2d(this.gpu, x, w, bias ? this.weights.get(`${index}.bias`, [out]) : null, { stride: 1, padding: 1 });
  }

  /** AutoencoderTinyBlock: relu(conv.4(relu(conv.2(relu(conv.0 x)))) + skip(x)); skip is identity (in = out). */
  private async block(index: number, x: Tensor, c: number): Promise<Tensor> {
    if (x.shape[1] !== c) throw new Error(`TAESD: block ${index} expects ${c} channels, got ${x.shape[1]} (a channel-changing skip conv is not supported)`);
    let h = x;
    for (const [j, last] of [[0, false], [2, false], [4, true]] as const) {
      const c1 = await this.conv(`${index}.conv.${j}`, h, c, true);
      if (h !== x) h.dispose();
      if (last) {
        h = c1;
        break;
      }
      h = await relu(this.gpu, c1);
      c1.dispose();
    }
    const sum = await add(this.gpu, h, x);
    h.dispose();
    const y = await relu(this.gpu, sum);
    sum.dispose();
    return y;
  }

  /** Storage type of the weights and activations. */
  get dtype(): "f32" | "f16" {
    return this.weights.dtype;
  }

  /**
   * Latents [B, 4, h, w] → image [B, 3, 8h, 8w] in [-1, 1], in z's dtype (converted to the model's dtype
   * on the way in, back on the way out). `z` is not disposed.
   */
  /**
   * Bytes of the widest activation a decode of [batch, ·, h, w] latents makes: the widest stage's channels at the
   * full image size (an upper bound; TAESD's last stages are 64 channels at full size). It must fit one binding.
   */
  widestActivationBytes(batch: number, h: number, w: number): number {
    const scale = 2 ** (this.config.decoderChannels.length - 1);
    return batch * Math.max(...this.config.decoderChannels) * h * scale * w * scale * (this.dtype === "f16" ? 2 : 4);
  }

  async decode(z: Tensor): Promise<Tensor> {
    const { gpu, config: cfg } = this;
    if (z.rank !== 4 || z.shape[1] !== cfg.latentChannels) throw new Error(`TAESD decode: latents must be [B, ${cfg.latentChannels}, h, w], got [${z.shape.join(", ")}]`);
    return gpu.scope("taesd.decoder", async () => {
      const zIn = await asDType(gpu, z, this.dtype);
      let x = await clampLatents(gpu, zIn.t);
      if (zIn.owned) zIn.t.dispose();
      let index = 0;
      const step = async (t: Promise<Tensor>) => {
        const y = await t;
        x.dispose();
        x = y;
        index++;
      };
      await step(this.conv(`${index}`, x, cfg.decoderChannels[0]!, true));
      await step(relu(gpu, x));
      for (let i = 0; i < cfg.decoderBlocks.length; i++) {
        const c = cfg.decoderChannels[i]!;
        const final = i === cfg.decoderBlocks.length - 1;
        for (let b = 0; b < cfg.decoderBlocks[i]!; b++) await step(this.block(index, x, c));
        if (!final) await step(upsampleNearest2x(gpu, x));
        await step(this.conv(`${index}`, x, final ? cfg.outChannels : c, final));
      }
      const out = await scale(gpu, x, 2, -1);
      x.dispose();
      const back = await asDType(gpu, out, z.dtype as "f32" | "f16");
      if (back.owned) out.dispose();
      return back.t;
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}

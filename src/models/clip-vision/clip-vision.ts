/**
 * transformers CLIPVisionModelWithProjection: patch conv (no bias) → [class token; patches] + position
 * embeddings → pre_layrnorm → encoder layers (no mask) → post_layernorm on the class row → visual_projection.
 * Weight names `vision_model.*`, `visual_projection.weight` (a CLIPModel checkpoint works as it is).
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { add } from "../../ops/binary.ts";
import { concatChannels } from "../../ops/concat.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { asDType } from "../../ops/cast.ts";
import { matmul } from "../../ops/matmul.ts";
import { nchwToTokens } from "../../ops/transpose.ts";
import { parseEncoderConfig, type ClipEncoderConfig } from "../clip-text/config.ts";
import { clipEncoderLayer, layerNormLayer, linearLayer, type ClipHook } from "../clip-text/encoder-layer.ts";
import { towerLoader, type ClipQuantLoadOptions } from "../clip-text/tower-load.ts";
import { ModelWeights, type WeightSource } from "../weights.ts";

export interface ClipVisionConfig extends ClipEncoderConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
  projectionDim: number;
}

/** A CLIPVisionConfig, or the `vision_config` of a CLIPConfig. */
export function parseClipVisionConfig(raw: Record<string, unknown>): ClipVisionConfig {
  const inner = (raw.vision_config as Record<string, unknown> | undefined) ?? raw;
  const num = (key: string, fallback?: number): number => {
    const v = inner[key] ?? raw[key] ?? fallback;
    if (typeof v !== "number") throw new Error(`CLIP vision config: "${key}" must be a number, found ${JSON.stringify(v)}`);
    return v;
  };
  return { ...parseEncoderConfig(inner, "CLIP vision"), imageSize: num("image_size"), patchSize: num("patch_size"), channels: num("num_channels", 3), projectionDim: num("projection_dim") };
}

/** Float by default; `quant` (or `prepacked` from a pack) makes the encoder's linears and visual_projection quantized. */
export interface ClipVisionLoadOptions extends ClipQuantLoadOptions {
  /** Prefix of the tensors in the source, default none. */
  prefix?: string;
  /** Storage type of float weights and activations (f16 needs shader-f16; pixel_values are cast on the way in). */
  dtype?: "f32" | "f16";
}

export interface ClipVisionOutputs {
  /** post_layernorm(class row) [B, D]. */
  pooled: Tensor;
  /** pooled · visual_projectionᵀ [B, P]. */
  imageEmbeds: Tensor;
  dispose(): void;
}

export class ClipVisionModel {
  private constructor(
    readonly gpu: Gpu,
    readonly config: ClipVisionConfig,
    readonly weights: ModelWeights,
  ) {}

  /** Checks widths and layer count against the config, then uploads (or quantizes) the tower's weights. */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipVisionLoadOptions = {}): ClipVisionModel {
    const p = ClipVisionModel.prepare(gpu, source, rawConfig, opts);
    towerLoader(gpu, source, p.weights, "CLIP vision", opts).load(p.fullNames);
    return p.model();
  }

  /**
   * `load` over a streaming source: each tensor fetched just before its upload (or quantization) and dropped
   * after, so the CPU holds one tensor at a time. `signal` aborts between tensors; on failure everything
   * uploaded so far is freed.
   */
  static async loadStreaming(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipVisionLoadOptions & { signal?: AbortSignal } = {}): Promise<ClipVisionModel> {
    const p = ClipVisionModel.prepare(gpu, source, rawConfig, opts);
    await towerLoader(gpu, source, p.weights, "CLIP vision", opts).loadStreaming(p.fullNames, opts.signal);
    return p.model();
  }

  /** Config checks and the tower's tensors (full names, in source order). */
  private static prepare(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipVisionLoadOptions) {
    const config = parseClipVisionConfig(rawConfig);
    if (opts.dtype === "f16" && !gpu.ctx.caps.f16) throw new Error("CLIP vision: dtype f16 needs the WebGPU feature shader-f16, which this adapter does not have");
    const weights = new ModelWeights(gpu, source, opts.dtype ?? "f32", opts.prefix ?? "");
    const layers = new Set(source.names().map((n) => /vision_model\.encoder\.layers\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined)).size;
    if (layers !== config.numLayers) throw new Error(`CLIP vision: ${source.where} has ${layers} encoder layers, the config says num_hidden_layers ${config.numLayers}`);
    const ours = (n: string) => n.startsWith("vision_model.") || n === "visual_projection.weight";
    const fullNames = source.names().filter((n) => n.startsWith(weights.prefix) && ours(n.slice(weights.prefix.length)) && !n.endsWith("position_ids"));
    return { weights, fullNames, model: () => new ClipVisionModel(gpu, config, weights) };
  }

  /** Storage type of the weights and activations (image embeds come back in it). */
  get dtype(): "f32" | "f16" {
    return this.weights.dtype;
  }

  /** pixel_values [B, 3, S, S] (preprocessed, see preprocess.ts) → pooled and image embeds. `pixels` is not disposed. */
  async forward(pixels: Tensor, opts: { hook?: ClipHook } = {}): Promise<ClipVisionOutputs> {
    const { gpu, config: cfg } = this;
    const s = cfg.imageSize;
    if (pixels.rank !== 4 || pixels.shape[1] !== cfg.channels || pixels.shape[2] !== s || pixels.shape[3] !== s) {
      throw new Error(`CLIP vision: pixel_values must be [B, ${cfg.channels}, ${s}, ${s}], got [${pixels.shape.join(", ")}]`);
    }
    const b = pixels.shape[0]!;
    const d = cfg.hiddenSize;
    const grid = s / cfg.patchSize;
    const tokens = grid * grid + 1;
    const hook = opts.hook ?? (() => {});
    const w = this.weights.scope("vision_model.");
    const dt = this.dtype;
    const zeros = gpu.upload(new Float32Array(b * d), [b, 1, d, 1], dt, "class_broadcast");
    const sel = new Float32Array(b * tokens);
    for (let i = 0; i < b; i++) sel[i * tokens] = 1; // class row of each image (an exact one-hot matmul)
    const select = gpu.upload(sel, [b, 1, tokens], dt, "class_row");
    const px = await asDType(gpu, pixels, dt);
    let x = await gpu.scope("vision_model.embeddings", async () => {
      const p = await conv2d(gpu, px.t, w.get("embeddings.patch_embedding.weight", [d, cfg.channels, cfg.patchSize, cfg.patchSize]), null, { stride: cfg.patchSize, padding: 0 });
      const patches = await nchwToTokens(gpu, p);
      p.dispose();
      await hook("patch_embeds", patches);
      // [B, 1, D] class rows and [B, 49, D] patches, concatenated along tokens as NCHW channels with W = 1.
      const cls = await add(gpu, zeros, w.get("embeddings.class_embedding", [d]).view([1, 1, d, 1]));
      const cat = await concatChannels(gpu, cls, patches.view([b, tokens - 1, d, 1]));
      cls.dispose();
      patches.dispose();
      const e = await add(gpu, cat.view([b, tokens, d]), w.get("embeddings.position_embedding.weight", [tokens, d]));
      cat.dispose();
      return e;
    });
    zeros.dispose();
    if (px.owned) px.t.dispose();
    await hook("embeddings", x);
    const pre = await layerNormLayer(gpu, w, "pre_layrnorm", x, cfg.layerNormEps);
    x.dispose();
    x = pre;
    await hook("pre_layrnorm", x);
    for (let i = 0; i < cfg.numLayers; i++) {
      const layerW = w.scope(`encoder.layers.${i}.`);
      const y = await gpu.scope(`vision_model.encoder.layers.${i}`, () => clipEncoderLayer(gpu, layerW, x, cfg, { causal: false, activation: cfg.activation }));
      x.dispose();
      x = y;
      await hook(`layers.${i}`, x);
    }
    const cls = await matmul(gpu, select, x);
    select.dispose();
    x.dispose();
    const pooled = await layerNormLayer(gpu, w, "post_layernorm", cls.view([b, d]), cfg.layerNormEps);
    cls.dispose();
    await hook("pooler_output", pooled);
    const p = cfg.projectionDim;
    const imageEmbeds = await linearLayer(gpu, this.weights, "visual_projection", pooled, p, { bias: false });
    await hook("image_embeds", imageEmbeds);
    return {
      pooled,
      imageEmbeds,
      dispose() {
        pooled.dispose();
        imageEmbeds.dispose();
      },
    };
  }

  dispose(): void {
    this.weights.dispose();
  }
}

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
import { linear } from "../../ops/linear.ts";
import { matmul } from "../../ops/matmul.ts";
import { nchwToTokens } from "../../ops/transpose.ts";
import { parseEncoderConfig, type ClipEncoderConfig } from "../clip-text/config.ts";
import { clipEncoderLayer, layerNormLayer, type ClipHook } from "../clip-text/encoder-layer.ts";
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

  /** Checks widths and layer count against the config, then uploads the tower's weights. */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: { prefix?: string } = {}): ClipVisionModel {
    const config = parseClipVisionConfig(rawConfig);
    const weights = new ModelWeights(gpu, source, "f32", opts.prefix ?? "");
    const layers = new Set(source.names().map((n) => /vision_model\.encoder\.layers\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined)).size;
    if (layers !== config.numLayers) throw new Error(`CLIP vision: ${source.where} has ${layers} encoder layers, the config says num_hidden_layers ${config.numLayers}`);
    const ours = (n: string) => n.startsWith("vision_model.") || n === "visual_projection.weight";
    for (const n of source.names()) {
      const local = n.slice(weights.prefix.length);
      if (n.startsWith(weights.prefix) && ours(local) && !local.endsWith("position_ids")) weights.get(local);
    }
    return new ClipVisionModel(gpu, config, weights);
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
    const zeros = gpu.upload(new Float32Array(b * d), [b, 1, d, 1], "f32", "class_broadcast");
    const sel = new Float32Array(b * tokens);
    for (let i = 0; i < b; i++) sel[i * tokens] = 1; // class row of each image (an exact one-hot matmul)
    const select = gpu.upload(sel, [b, 1, tokens], "f32", "class_row");
    let x = await gpu.scope("vision_model.embeddings", async () => {
      const p = await conv2d(gpu, pixels, w.get("embeddings.patch_embedding.weight", [d, cfg.channels, cfg.patchSize, cfg.patchSize]), null, { stride: cfg.patchSize, padding: 0 });
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
    const imageEmbeds = await linear(gpu, pooled, this.weights.get("visual_projection.weight", [p, d]), null);
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

/**
 * transformers CLIPTextModel / CLIPTextModelWithProjection (4.41 semantics): token + position
 * embeddings, causal pre-LN encoder, final LayerNorm, pooled EOS row, optional text_projection.
 * Weight names as in the checkpoints: `text_model.*`, `text_projection.weight`.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { Tensor } from "../../gpu/tensor.ts";
import type { Activation } from "../../ops/activation.ts";
import { add } from "../../ops/binary.ts";
import { matmul } from "../../ops/matmul.ts";
import { ModelWeights, type WeightSource } from "../weights.ts";
import { parseClipTextConfig, type ClipTextConfig } from "./config.ts";
import { clipEncoderLayer, layerNormLayer, leadingRows, linearLayer, type ClipHook } from "./encoder-layer.ts";
import { checkedIds, idRows, pooledRows, type TokenIds } from "./ids.ts";
import { gatherRows } from "../../ops/gather.ts";
import { towerLoader, type ClipQuantLoadOptions } from "./tower-load.ts";

/** Deliberately wrong numerics for the discriminating tests (each must make a comparison FAIL). */
export interface ClipTextTestVariants {
  /** Override the MLP activation (e.g. tanh GELU where the config says erf "gelu"). */
  activation?: Activation;
  /** Pool from the last layer's output without the final LayerNorm. */
  pooledWithoutFinalNorm?: boolean;
}

export interface ClipTextForwardOptions {
  /** hidden_states indices to return (0 = embeddings, i = output of layer i, negative from the end: -2 = penultimate). */
  hiddenStates?: readonly number[];
  /** Receives "embeddings", "layers.i", "final_layer_norm", "pooler_output", "text_embeds". */
  hook?: ClipHook;
  /** @internal */
  testVariants?: ClipTextTestVariants;
}

export interface ClipTextOutputs {
  /** final_layer_norm(output of the last layer) [B, L, D]. */
  lastHiddenState: Tensor;
  /** Requested hidden_states by their normalized (non-negative) index; no final LN. */
  hiddenStates: Map<number, Tensor>;
  /** Row of lastHiddenState at the EOS position [B, D]. */
  pooled: Tensor;
  /** pooled · text_projectionᵀ [B, P] when the checkpoint has text_projection. */
  textEmbeds?: Tensor;
  /** Dispose every output tensor. */
  dispose(): void;
}

/** Float by default; `quant` (or `prepacked` from a pack) makes the encoder's linears and text_projection quantized. */
export interface ClipTextLoadOptions extends ClipQuantLoadOptions {
  /** Prefix of the tensors in the source (e.g. "text_encoder." in a pack), default none. */
  prefix?: string;
  dtype?: "f32" | "f16";
}

export class ClipTextModel {
  private constructor(
    readonly gpu: Gpu,
    readonly config: ClipTextConfig,
    readonly weights: ModelWeights,
    /** Whether `text_projection.weight` is present (CLIPTextModelWithProjection). */
    readonly hasProjection: boolean,
  ) {}

  /** Checks the checkpoint against the config up front (layer count, widths) so a mismatch fails at load, naming both. */
  static load(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipTextLoadOptions = {}): ClipTextModel {
    const p = ClipTextModel.prepare(gpu, source, rawConfig, opts);
    towerLoader(gpu, source, p.weights, "CLIP text", opts).load(p.fullNames);
    return p.model();
  }

  /**
   * `load` over a streaming source (or any source): the same checks and uploads, each tensor fetched
   * just before its upload and dropped after, so the CPU holds one tensor at a time. `signal` aborts
   * between tensors; on failure everything uploaded so far is freed.
   */
  static async loadStreaming(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipTextLoadOptions & { signal?: AbortSignal } = {}): Promise<ClipTextModel> {
    const p = ClipTextModel.prepare(gpu, source, rawConfig, opts);
    await towerLoader(gpu, source, p.weights, "CLIP text", opts).loadStreaming(p.fullNames, opts.signal);
    return p.model();
  }

  /** Config and shape checks, and the weights to upload (names relative to the prefix, in source order). */
  private static prepare(gpu: Gpu, source: WeightSource, rawConfig: Record<string, unknown>, opts: ClipTextLoadOptions) {
    const config = parseClipTextConfig(rawConfig);
    if (opts.dtype === "f16" && !gpu.ctx.caps.f16) throw new Error("CLIP text: dtype f16 needs the WebGPU feature shader-f16, which this adapter does not have");
    const weights = new ModelWeights(gpu, source, opts.dtype ?? "f32", opts.prefix ?? "");
    const tok = "text_model.embeddings.token_embedding.weight";
    if (!weights.has(tok)) throw new Error(`CLIP text: ${source.where} has no "${(opts.prefix ?? "") + tok}" (is this a CLIP text encoder?)`);
    const [vocab, width] = weights.shape(tok) as [number, number];
    if (vocab !== config.vocabSize || width !== config.hiddenSize) {
      throw new Error(`CLIP text: ${tok} is [${vocab}, ${width}], the config expects [vocab_size ${config.vocabSize}, hidden_size ${config.hiddenSize}]`);
    }
    const layers = new Set(source.names().map((n) => /text_model\.encoder\.layers\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined)).size;
    if (layers !== config.numLayers) throw new Error(`CLIP text: ${source.where} has ${layers} encoder layers, the config says num_hidden_layers ${config.numLayers}`);
    const hasProjection = weights.has("text_projection.weight");
    if (hasProjection) {
      const [p, d] = weights.shape("text_projection.weight") as [number, number];
      if (d !== config.hiddenSize || (config.projectionDim !== undefined && p !== config.projectionDim)) {
        throw new Error(`CLIP text: text_projection.weight is [${p}, ${d}], the config expects [projection_dim ${config.projectionDim}, hidden_size ${config.hiddenSize}]`);
      }
    }
    // Upload every weight now: an upload during a forward could take a pool buffer that a recorded,
    // not yet submitted dispatch still writes, and that dispatch would overwrite the weight.
    const ours = (n: string) => n.startsWith("text_model.") || n === "text_projection.weight";
    const names = source.names().filter((n) => n.startsWith(weights.prefix)).map((n) => n.slice(weights.prefix.length)).filter((n) => ours(n) && !n.endsWith("position_ids"));
    return { weights, fullNames: names.map((n) => weights.prefix + n), model: () => new ClipTextModel(gpu, config, weights, hasProjection) };
  }

  /**
   * Runs the tower on ids [B, L] (L ≤ max_position_embeddings; tokenizePrompts truncates prompts first).
   * An i32 GPU tensor [B, L] is read back first (the embedding lookup and pooling index are built on the host).
   */
  async forward(ids: TokenIds | Tensor, opts: ClipTextForwardOptions = {}): Promise<ClipTextOutputs> {
    const { gpu, config: cfg } = this;
    let rows: number[][];
    if (ids instanceof Tensor) {
      if (ids.dtype !== "i32" || ids.rank !== 2) throw new Error(`CLIP text: an ids tensor must be i32 [B, L], got ${ids}`);
      rows = idRows({ data: await gpu.download(ids), batch: ids.shape[0]! });
    } else rows = idRows(ids);
    const [batch, len] = [rows.length, rows[0]!.length];
    if (len > cfg.maxPositions || len < 1) {
      throw new Error(`CLIP text: sequences must have 1..${cfg.maxPositions} tokens (max_position_embeddings), found ${len}; truncate with tokenizePrompts`);
    }
    const d = cfg.hiddenSize;
    const keep = new Set((opts.hiddenStates ?? []).map((i) => (i < 0 ? cfg.numLayers + 1 + i : i)));
    for (const i of keep) if (i < 0 || i > cfg.numLayers) throw new Error(`CLIP text: hidden_states index out of range [-${cfg.numLayers + 1}, ${cfg.numLayers}]`);
    const w = this.weights.scope("text_model.");
    const hiddenStates = new Map<number, Tensor>();
    const hook = opts.hook ?? (() => {});
    const act = opts.testVariants?.activation ?? cfg.activation;

    const flatIds = checkedIds(rows, cfg.vocabSize);
    let x = await gpu.scope("text_model.embeddings", async () => {
      const tok = (await gatherRows(gpu, w.get("embeddings.token_embedding.weight", [cfg.vocabSize, d]), flatIds)).reshape([batch, len, d]);
      const pos = leadingRows(w.get("embeddings.position_embedding.weight", [cfg.maxPositions, d]), len);
      const e = await add(gpu, tok, pos);
      tok.dispose();
      return e;
    });
    await hook("embeddings", x);
    for (let i = 0; i < cfg.numLayers; i++) {
      const layerW = w.scope(`encoder.layers.${i}.`);
      const y = await gpu.scope(`text_model.encoder.layers.${i}`, () => clipEncoderLayer(gpu, layerW, x, cfg, { causal: true, activation: act }));
      if (keep.has(i)) hiddenStates.set(i, x);
      else x.dispose();
      x = y;
      await hook(`layers.${i}`, x);
    }
    const last = await gpu.scope("text_model.final_layer_norm", () => layerNormLayer(gpu, w, "final_layer_norm", x, cfg.layerNormEps));
    await hook("final_layer_norm", last);
    const poolFrom = opts.testVariants?.pooledWithoutFinalNorm ? x : last;
    const pooled = await gpu.scope("text_model.pooler", async () => {
      return gatherRows(gpu, poolFrom.view([batch * len, d]), pooledRows(rows, cfg.eosTokenId));
    });
    if (keep.has(cfg.numLayers)) hiddenStates.set(cfg.numLayers, x);
    else x.dispose();
    await hook("pooler_output", pooled);
    let textEmbeds: Tensor | undefined;
    if (this.hasProjection) {
      const p = this.weights.shape("text_projection.weight")[0]!;
      textEmbeds = await gpu.scope("text_projection", async () => linearLayer(gpu, this.weights, "text_projection", pooled, p, { bias: false }));
      await hook("text_embeds", textEmbeds);
    }
    return {
      lastHiddenState: last,
      hiddenStates,
      pooled,
      textEmbeds,
      dispose() {
        last.dispose();
        pooled.dispose();
        textEmbeds?.dispose();
        for (const t of hiddenStates.values()) t.dispose();
      },
    };
  }

  dispose(): void {
    this.weights.dispose();
  }
}

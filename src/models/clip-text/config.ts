/** transformers CLIPTextConfig / CLIPVisionConfig fields the models read, checked and named. */
import type { Activation } from "../../ops/activation.ts";

/** The part both CLIP towers share (one pre-LN transformer encoder). */
export interface ClipEncoderConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** transformers ACT2FN name mapped to our op: "quick_gelu" → quick_gelu, "gelu" → erf GELU. */
  activation: Activation;
  layerNormEps: number;
}

export interface ClipTextConfig extends ClipEncoderConfig {
  vocabSize: number;
  maxPositions: number;
  /** 2 = legacy configs (pool at argmax(ids)); anything else pools at the first id equal to it. */
  eosTokenId: number;
  /** text_projection output size (CLIPTextModelWithProjection); undefined when the config has none. */
  projectionDim?: number;
}

function num(raw: Record<string, unknown>, key: string, what: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${what} config: "${key}" must be a number, found ${JSON.stringify(raw[key])}`);
  return v;
}

/** transformers' hidden_act names we implement exactly; anything else is rejected by name. */
export function activationFor(hiddenAct: unknown, what: string): Activation {
  switch (hiddenAct) {
    case "quick_gelu":
      return "quick_gelu";
    case "gelu": // transformers' "gelu" is the exact erf form (GELUActivation)
      return "gelu_erf";
    case "gelu_new":
    case "gelu_pytorch_tanh":
      return "gelu_tanh";
    default:
      throw new Error(`${what} config: hidden_act ${JSON.stringify(hiddenAct)} is not supported (expected quick_gelu, gelu, gelu_new or gelu_pytorch_tanh)`);
  }
}

export function parseEncoderConfig(raw: Record<string, unknown>, what: string): ClipEncoderConfig {
  const cfg: ClipEncoderConfig = {
    hiddenSize: num(raw, "hidden_size", what),
    intermediateSize: num(raw, "intermediate_size", what),
    numLayers: num(raw, "num_hidden_layers", what),
    numHeads: num(raw, "num_attention_heads", what),
    activation: activationFor(raw.hidden_act ?? "quick_gelu", what),
    layerNormEps: num(raw, "layer_norm_eps", what, 1e-5),
  };
  if (cfg.hiddenSize % cfg.numHeads !== 0) throw new Error(`${what} config: hidden_size ${cfg.hiddenSize} is not divisible by num_attention_heads ${cfg.numHeads}`);
  return cfg;
}

/** A CLIPTextConfig (text_encoder/config.json), or the `text_config` of a CLIPConfig. */
export function parseClipTextConfig(raw: Record<string, unknown>): ClipTextConfig {
  const inner = (raw.text_config as Record<string, unknown> | undefined) ?? raw;
  const what = "CLIP text";
  const projection = inner.projection_dim ?? raw.projection_dim;
  return {
    ...parseEncoderConfig(inner, what),
    vocabSize: num(inner, "vocab_size", what, 49408),
    maxPositions: num(inner, "max_position_embeddings", what, 77),
    eosTokenId: num(inner, "eos_token_id", what, 2),
    projectionDim: typeof projection === "number" ? projection : undefined,
  };
}

import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { concatChannels } from "../ops/concat.ts";
import { tokenizePrompts } from "../models/clip-text/prompt.ts";
import type { CLIPTokenizer } from "../tokenizer/clip-tokenizer.ts";
import type { PipelineKind } from "./kind.ts";
import type { TextEncoderPort } from "./ports.ts";
import type { GenerateOptions } from "./types.ts";

export interface TextStack {
  tokenizer: CLIPTokenizer;
  encoder: TextEncoderPort;
  /** Module name used in traces (text_encoder, text_encoder_2). */
  module: string;
}

export interface Conditioning {
  /** [B', L, C] (L = model_max_length, 77) with B' = 2B under CFG ([negative; positive]). */
  context: Tensor;
  /** SDXL pooled text embeds [B', P]. */
  textEmbeds?: Tensor;
  dispose(): void;
}

/** Concatenates two row-major tensors along dim 0 (batch) or along the last dim, as views over channels. */
async function concatRows(gpu: Gpu, a: Tensor, b: Tensor, along: "batch" | "last"): Promise<Tensor> {
  if (along === "batch") {
    const out = await concatChannels(gpu, a.view([1, a.numel, 1, 1]), b.view([1, b.numel, 1, 1]));
    return out.reshape([a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)]);
  }
  const last = (t: Tensor) => t.shape[t.rank - 1]!;
  const rows = a.numel / last(a);
  const out = await concatChannels(gpu, a.view([rows, last(a), 1, 1]), b.view([rows, last(b), 1, 1]));
  return out.reshape([...a.shape.slice(0, -1), last(a) + last(b)]);
}

let traceCall = 0;

async function encodePrompts(stack: TextStack, prompts: string[], kind: PipelineKind, trace: GenerateOptions["trace"]): Promise<{ hidden: Tensor; pooled?: Tensor }> {
  // As diffusers: padded and cut to the tokenizer's model_max_length (77), warning with what was dropped.
  const ids = tokenizePrompts(stack.tokenizer, prompts, { maxLength: stack.tokenizer.modelMaxLength });
  const out = await stack.encoder.encode(ids);
  if (trace) {
    const j = traceCall++;
    await trace(`te${j}_${stack.module}.input_ids`, Int32Array.from(ids.flat()));
    await trace(`te${j}_${stack.module}.last_hidden_state`, out.lastHiddenState);
    if (out.pooled) await trace(`te${j}_${stack.module}.pooler_output`, out.pooled);
    if (out.textEmbeds) await trace(`te${j}_${stack.module}.text_embeds`, out.textEmbeds);
    if (out.penultimate) await trace(`te${j}_${stack.module}.hidden_states_m2`, out.penultimate);
  }
  if (kind === "sdxl") {
    // SDXL conditions on the penultimate layer (no final LN) and pools from the second encoder.
    out.lastHiddenState.dispose();
    out.pooled?.dispose();
    return { hidden: out.penultimate!, pooled: out.textEmbeds };
  }
  out.penultimate?.dispose();
  out.pooled?.dispose();
  out.textEmbeds?.dispose();
  return { hidden: out.lastHiddenState };
}

/**
 * The negative side under CFG: prompts to encode, or "zeros": diffusers' SDXL pipelines with
 * `force_zeros_for_empty_prompt` (true unless model_index.json says false) use all-zero context and pooled
 * embeddings when no negative prompt is given, instead of encoding "".
 */
export type NegativeConditioning = string[] | "zeros";

/** What diffusers does for a call's negative side: `given` is the caller's negative prompts, or null for none. */
export function negativeConditioning(kind: PipelineKind, given: string[] | null, batch: number, forceZerosForEmptyPrompt: unknown): NegativeConditioning {
  if (given) return given;
  return kind === "sdxl" && forceZerosForEmptyPrompt !== false ? "zeros" : new Array<string>(batch).fill("");
}

/**
 * Prompt (and negative prompt under CFG) → UNet context, as diffusers' pipelines build it:
 * SD/LCM: last_hidden_state; SDXL: both encoders' penultimate states concatenated on channels,
 * pooled embeds from the second. With CFG the batch is [negative; positive].
 */
export async function encodeConditioning(
  gpu: Gpu,
  kind: PipelineKind,
  stacks: TextStack[],
  prompts: string[],
  negative: NegativeConditioning | null,
  trace: GenerateOptions["trace"],
): Promise<Conditioning> {
  traceCall = 0;
  const encodeAll = async (texts: string[]) => {
    const parts = [];
    for (const s of stacks) parts.push(await encodePrompts(s, texts, kind, trace));
    let hidden = parts[0]!.hidden;
    for (const p of parts.slice(1)) {
      const joined = await concatRows(gpu, hidden, p.hidden, "last");
      hidden.dispose();
      p.hidden.dispose();
      hidden = joined;
    }
    const pooled = parts[parts.length - 1]!.pooled;
    return { hidden, pooled };
  };
  const pos = await encodeAll(prompts);
  if (!negative) return { context: pos.hidden, textEmbeds: pos.pooled, dispose: () => (pos.hidden.dispose(), pos.pooled?.dispose()) };
  const zerosLike = (t: Tensor) => gpu.upload(new Float32Array(t.numel), t.shape, t.dtype, "negative_zeros");
  const neg = negative === "zeros" ? { hidden: zerosLike(pos.hidden), pooled: pos.pooled && zerosLike(pos.pooled) } : await encodeAll(negative);
  const context = await concatRows(gpu, neg.hidden, pos.hidden, "batch");
  const textEmbeds = pos.pooled && neg.pooled ? await concatRows(gpu, neg.pooled, pos.pooled, "batch") : undefined;
  for (const t of [neg.hidden, pos.hidden, neg.pooled, pos.pooled]) t?.dispose();
  return { context, textEmbeds, dispose: () => (context.dispose(), textEmbeds?.dispose()) };
}

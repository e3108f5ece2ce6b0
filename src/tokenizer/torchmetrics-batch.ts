import { CLIP_CONTEXT_LENGTH, type CLIPTokenizer } from "./clip-tokenizer.ts";

/** The text batch torchmetrics' CLIPScore feeds the CLIP text model, row-major [batch, length]. */
export interface TorchmetricsTextBatch {
  batch: number;
  /** Row length: the longest row of the batch, cut to `maxPositions`. */
  length: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  /** Row the text model pools from: first position of the largest id (transformers' legacy eos_token_id == 2 rule). */
  poolIndex: Int32Array;
  /** Which prompts lost tokens (and their EOS) to the cut. */
  truncated: boolean[];
}

/**
 * torchmetrics 1.6.1 `CLIPScore` text path: `processor(text, padding=True)` pads to the longest prompt (pad id of
 * the tokenizer, normally EOS) **without truncation**, then ids and mask are cut to the first `maxPositions`
 * (the model's max_position_embeddings, 77). A prompt longer than that loses its EOS, so argmax pooling lands on BOS
 * (index 0) and every such prompt gets the same embedding; this reproduces that, it does not fix it.
 */
export function torchmetricsTextBatch(
  tokenizer: CLIPTokenizer,
  prompts: readonly string[],
  maxPositions = CLIP_CONTEXT_LENGTH,
): TorchmetricsTextBatch {
  if (prompts.length === 0) throw new Error("torchmetricsTextBatch: expected at least one prompt, found none");
  const rows = tokenizer.encodeBatch(prompts, { padding: "longest", truncation: false });
  const fullLength = (rows[0] as { ids: number[] }).ids.length;
  const length = Math.min(fullLength, maxPositions);
  const inputIds = new Int32Array(prompts.length * length);
  const attentionMask = new Int32Array(prompts.length * length);
  const poolIndex = new Int32Array(prompts.length);
  const truncated: boolean[] = [];
  rows.forEach((row, b) => {
    inputIds.set(row.ids.slice(0, length), b * length);
    attentionMask.set(row.attentionMask.slice(0, length), b * length);
    poolIndex[b] = firstArgmax(inputIds.subarray(b * length, (b + 1) * length));
    truncated.push(row.attentionMask.reduce((s, m) => s + m, 0) > length);
  });
  return { batch: prompts.length, length, inputIds, attentionMask, poolIndex, truncated };
}

/** Index of the first maximum (torch.argmax returns the first occurrence). */
function firstArgmax(values: Int32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

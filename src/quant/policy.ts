/**
 * Which tensors of a checkpoint get quantized.
 * - "torchao": what torchao v0.9's `quantize_(model, config)` touches: nn.Linear weights only (2-D
 *   `*.weight`, not embeddings), with the config's own skips: W8A8 leaves in_features ≤ 16 float;
 *   W4A8 and W4A16 leave in_features not divisible by the group size float (see the golden
 *   tiny-sd-turbo/activations-w8a8 and -w4a8 READMEs).
 * - "all": Linear and Conv weights (4-D [Cout, Cin, kh, kw] flattened to [Cout, Cin·kh·kw]), except names
 *   matching a float-kept list (norms, embeddings, conv_in/conv_out, time embeddings by default) and
 *   shapes the format cannot hold (4-bit needs K divisible by the group size).
 */
import { resolveGroupSize, type QuantFormat } from "./formats.ts";

export type QuantPolicyId = "torchao" | "all";

export interface QuantPolicy {
  id: QuantPolicyId;
  /** Regular expressions (sources) of tensor names kept float under "all"; ignored by "torchao". */
  keepFloat: string[];
}

/** Float-kept name patterns of the "all" policy unless the caller gives its own list. */
export const DEFAULT_KEEP_FLOAT = ["norm", "embedding", "(^|\\.)conv_in\\.", "(^|\\.)conv_out\\.", "(^|\\.)time_proj\\."];

/** nn.Embedding tables have 2-D `.weight`s too, but torchao's `_is_linear` filter never selects them. */
const EMBEDDING_TABLE = /(^|\.)(token_embedding|position_embedding|embed_tokens|embed_positions|word_embeddings|position_embeddings|token_type_embeddings)\.weight$/;

export type PolicyDecision =
  | { quantize: true; n: number; k: number; groupSize: number }
  | { quantize: false; reason: string };

export function parsePolicy(id: string, keepFloat: string[] = DEFAULT_KEEP_FLOAT): QuantPolicy {
  if (id !== "torchao" && id !== "all") throw new Error(`unknown quantization policy "${id}"; expected torchao or all`);
  return { id, keepFloat };
}

/** Decides one tensor. `groupSize` is the pack's (per-channel formats ignore it). */
export function decideTensor(
  name: string,
  shape: readonly number[],
  format: QuantFormat,
  groupSize: number | "per-channel",
  policy: QuantPolicy,
): PolicyDecision {
  if (!name.endsWith(".weight")) return { quantize: false, reason: "not a .weight" };
  // An empty weight has nothing to quantize, and a pack's layout needs positive sizes.
  if (shape.some((d) => d === 0)) return { quantize: false, reason: `shape [${shape.join(", ")}] has no values` };
  if (policy.id === "torchao") {
    if (shape.length !== 2) return { quantize: false, reason: `${shape.length}-D, torchao quantizes nn.Linear (2-D) only` };
    if (EMBEDDING_TABLE.test(name)) return { quantize: false, reason: "embedding table, not nn.Linear" };
  } else {
    if (shape.length !== 2 && shape.length !== 4) return { quantize: false, reason: `${shape.length}-D, neither linear nor conv` };
    const keep = policy.keepFloat.find((p) => new RegExp(p).test(name));
    if (keep !== undefined) return { quantize: false, reason: `matches float-kept pattern /${keep}/` };
  }
  const n = shape[0] as number;
  const k = shape.slice(1).reduce((a, b) => a * b, 1);
  if (policy.id === "torchao" && format.scheme === "W8A8" && k <= 16) {
    return { quantize: false, reason: `in_features ${k} <= 16 (torchao W8A8 skip)` };
  }
  const gs = format.defaultGroupSize === "per-channel" ? "per-channel" : groupSize;
  if (gs !== "per-channel" && k % gs !== 0) {
    return { quantize: false, reason: `in_features ${k} not divisible by group_size ${gs}` };
  }
  return { quantize: true, n, k, groupSize: resolveGroupSize(format, k, gs) };
}

/**
 * The per-tensor load step both CLIP towers share: a weight read from a pack is uploaded as stored, a weight
 * the quantization policy takes is quantized and packed, anything else uploads as a float weight. The same
 * machinery as the UNet's (src/models/quantized-linears.ts), so a quantized text encoder or scorer takes
 * exactly the linears torchao's `quantize_` would (q/k/v/out_proj, fc1, fc2, the projections; never the
 * embedding tables, norms or the patch conv).
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { ScaleStorage } from "../../ops/quant-weight.ts";
import type { QuantFormat } from "../../quant/formats.ts";
import { quantizedLoader, type PrepackedWeights } from "../quantized-linears.ts";
import { streamEach, type ModelWeights, type WeightSource } from "../weights.ts";

/** Quantization options of a CLIP tower's load (float when neither `quant` nor `prepacked` is given). */
export interface ClipQuantLoadOptions {
  /** Quantize the tower's linears in this format at load. */
  quant?: QuantFormat;
  /** `torchao` (default): nn.Linear weights with torchao's skips; `all`: the same here (the only conv, the patch embedding, stays float). */
  policy?: "torchao" | "all";
  /** Group size of 4-bit formats (default: the format's). */
  groupSize?: number;
  /** GPU storage of the quantized weights' scales (and W4A16 zero points), default f32. */
  scaleStorage?: ScaleStorage;
  /**
   * Weights quantized ahead of time (a pack), by full checkpoint name, uploaded as stored. With `quant` too, the
   * other tensors the policy takes are quantized at load (a packed scorer borrowing a float text tower).
   */
  prepacked?: PrepackedWeights;
}

/**
 * Loads the full names `names` of `source` into `weights` (sync `load` or streaming `loadStreaming`), the
 * quantized linears handed to `weights` at the end. On failure everything uploaded so far is freed.
 */
export function towerLoader(gpu: Gpu, source: WeightSource, weights: ModelWeights, what: string, opts: ClipQuantLoadOptions) {
  // Keys are full module names, as ModelWeights.quantizedLinear looks them up.
  const q = opts.quant || opts.prepacked ? quantizedLoader(gpu, { format: opts.quant, groupSize: opts.groupSize, policy: opts.policy, scaleStorage: opts.scaleStorage }) : null;
  const step = (full: string): void => {
    const w = opts.prepacked?.get(full);
    if (w && q!.prepacked(full, w)) return;
    if (q?.quantize(source, full)) return;
    weights.get(full.slice(weights.prefix.length));
  };
  const finish = (): void => {
    if (!q) return;
    const r = q.result();
    if (r.convs.size > 0) {
      r.dispose();
      weights.dispose();
      throw new Error(`${what}: quantized convolutions (${[...r.convs.keys()].join(", ")}) are not supported; the CLIP patch embedding stays float`);
    }
    weights.setQuantized(r);
  };
  const abandon = (): void => {
    weights.dispose();
    q?.result().dispose();
  };
  return {
    load(names: readonly string[]): void {
      try {
        for (const n of names) step(n);
      } catch (e) {
        abandon();
        throw e;
      }
      finish();
    },
    async loadStreaming(names: readonly string[], signal?: AbortSignal): Promise<void> {
      try {
        await streamEach(source, names, step, signal);
      } catch (e) {
        abandon();
        throw e;
      }
      finish();
    },
  };
}

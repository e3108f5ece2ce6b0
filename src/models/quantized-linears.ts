/**
 * Quantizes a model's weights at load (src/quant/policy.ts): under `torchao`, the nn.Linear weights
 * torchao's quantize_ would take; under `all` (ours), convolutions too, except the float-kept layers.
 * Shared by every model that takes quantized weights (the UNet, the CLIP towers).
 * The CPU reference quantizer produces the codes, which are packed and uploaded once. Weights packed
 * ahead of time (a pack file) are uploaded as they are by `uploadPrepackedLinears`.
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { QuantizedConvWeight } from "../ops/conv2d.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight, type QuantizedWeight, type ScaleStorage } from "../ops/quant-weight.ts";
import { wordsPerRow, type QuantFormat } from "../quant/formats.ts";
import { Tensor } from "../gpu/tensor.ts";
import { packWeight, type PackedWeight } from "../quant/packing.ts";
import { decideTensor, parsePolicy } from "../quant/policy.ts";
import { quantizeWeight } from "../quant/quantize.ts";
import type { WeightSource } from "./weights.ts";

export interface QuantizedLinears {
  /** Linear weights by module name (the weight name without ".weight"). */
  weights: Map<string, QuantizedWeight>;
  /** Conv weights by module name (policy `all` only). */
  convs: Map<string, QuantizedConvWeight>;
  /** Linear weights left float, with torchao's reason. */
  skipped: { module: string; reason: string }[];
  dispose(): void;
}

/**
 * Every `.weight` under `prefix` the policy quantizes with `format` (group size: the format's default
 * unless given): 2-D linears, and under `all` also 4-D convs (as [Cout, Cin·kh·kw] matrices).
 */
export function quantizeLinears(
  gpu: Gpu,
  source: WeightSource,
  format: QuantFormat,
  prefix = "",
  groupSize?: number,
  policyId: "torchao" | "all" = "torchao",
  scaleStorage: ScaleStorage = "f32",
): QuantizedLinears {
  const q = quantizedLoader(gpu, { format, prefix, groupSize, policy: policyId, scaleStorage });
  for (const full of source.names()) q.quantize(source, full);
  return q.result();
}

/** A weight quantized ahead of time (read from a pack): packed codes and scales, and its original shape. */
export interface PrepackedWeight {
  /** [N, K] for a linear, [Cout, Cin, kh, kw] for a conv. */
  shape: readonly number[];
  packed: PackedWeight;
}

/**
 * Prepacked weights by full checkpoint name: a Map, or a streaming pack whose `get` hands out each
 * weight once its bytes were fetched (src/pipeline/load-unet.ts).
 */
export type PrepackedWeights = Pick<ReadonlyMap<string, PrepackedWeight>, "get" | "keys">;

/**
 * Uploads weights packed ahead of time as they are (no float copy, no re-quantization), keyed by full
 * checkpoint name ("…proj_in.weight"); 2-D ones become linears, 4-D ones convs.
 */
export function uploadPrepackedLinears(gpu: Gpu, weights: ReadonlyMap<string, PrepackedWeight>, prefix = "", scaleStorage: ScaleStorage = "f32"): QuantizedLinears {
  const q = quantizedLoader(gpu, { prefix, scaleStorage });
  for (const [full, w] of weights) q.prepacked(full, w);
  return q.result();
}

/**
 * Quantized weights gathered one tensor at a time, so a load can stream the checkpoint in file order
 * (read, quantize or upload, drop) instead of holding it.
 */
export interface QuantizedLoader {
  /**
   * Quantizes and uploads `full` when it is a `.weight` under the prefix that the policy takes
   * (reading its floats from `source`); returns whether it did. Without a format, never.
   */
  quantize(source: WeightSource, full: string): boolean;
  /** Uploads a weight packed ahead of time, as it is; false when `full` is not a `.weight` under the prefix. */
  prepacked(full: string, w: PrepackedWeight): boolean;
  result(): QuantizedLinears;
}

export function quantizedLoader(
  gpu: Gpu,
  opts: { format?: QuantFormat; prefix?: string; groupSize?: number; policy?: "torchao" | "all"; scaleStorage?: ScaleStorage },
): QuantizedLoader {
  const prefix = opts.prefix ?? "";
  const policyId = opts.policy ?? "torchao";
  const policy = parsePolicy(policyId);
  const out = collector(gpu, opts.scaleStorage ?? "f32");
  const ours = (full: string) => full.startsWith(prefix) && full.endsWith(".weight");
  return {
    quantize(source, full) {
      const format = opts.format;
      if (!format || !ours(full)) return false;
      const shape = source.shape(full);
      if (shape.length !== 2 && !(policyId === "all" && shape.length === 4)) return false; // norms (1-D); convs unless `all`
      const module = full.slice(prefix.length, -".weight".length);
      const d = decideTensor(full, shape, format, opts.groupSize ?? format.defaultGroupSize, policy);
      if (!d.quantize) {
        out.skipped.push({ module, reason: d.reason });
        return false;
      }
      let q: ReturnType<typeof quantizeWeight>;
      try {
        q = quantizeWeight(source.f32(full), d.n, d.k, format, format.defaultGroupSize === "per-channel" ? "per-channel" : d.groupSize);
      } catch (e) {
        throw new Error(`quantizing "${full}" to ${format.scheme}: ${(e as Error).message}`, { cause: e });
      }
      out.add(module, shape, packWeight(format, q));
      return true;
    },
    prepacked(full, w) {
      if (!ours(full)) return false;
      const k = w.shape.slice(1).reduce((a, b) => a * b, 1);
      if ((w.shape.length !== 2 && w.shape.length !== 4) || w.packed.n !== w.shape[0] || w.packed.k !== k) {
        throw new Error(`packed weight "${full}" holds [${w.packed.n}, ${w.packed.k}] codes for shape [${w.shape.join(", ")}]`);
      }
      out.add(full.slice(prefix.length, -".weight".length), w.shape, w.packed);
      return true;
    },
    result: () => out.result(),
  };
}

/** Uploads packed weights one by one (scales stored as `scaleStorage`) and owns the GPU tensors until `dispose()`. */
function collector(gpu: Gpu, scaleStorage: ScaleStorage) {
  const weights = new Map<string, QuantizedWeight>();
  const convs = new Map<string, QuantizedConvWeight>();
  const skipped: QuantizedLinears["skipped"] = [];
  const convOwned: Tensor[] = [];
  return {
    skipped,
    add(module: string, shape: readonly number[], packed: PackedWeight): void {
      const up = uploadQuantizedWeight(gpu, packed, module, { scaleStorage });
      if (shape.length === 4) {
        // conv2d reads the same words as plain u32 rows [Cout, wordsPerRow]: a view of the packed codes.
        const words = new Tensor([packed.n, wordsPerRow(packed.format, packed.k)], "u32", up.codes.buffer, up.codes.byteOffset, up.codes.byteLength);
        convOwned.push(up.codes);
        convs.set(module, { format: packed.format, shape: [...shape] as [number, number, number, number], groupSize: up.groupSize, codes: words, scales: up.scales, zeroPoints: up.zeroPoints });
      } else weights.set(module, up);
    },
    result(): QuantizedLinears {
      return {
        weights,
        convs,
        skipped,
        dispose: () => {
          for (const w of weights.values()) disposeQuantizedWeight(w);
          for (const c of convs.values()) [c.scales, c.zeroPoints].forEach((t) => t?.dispose());
          for (const t of convOwned) t.dispose();
          weights.clear();
          convs.clear();
        },
      };
    },
  };
}

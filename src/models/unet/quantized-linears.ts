/**
 * Quantizes the UNet's weights at load (src/quant/policy.ts): under `torchao`, the nn.Linear weights
 * torchao's quantize_ would take; under `all` (ours), convolutions too, except the float-kept layers.
 * The CPU reference quantizer produces the codes, which are packed and uploaded once.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { QuantizedConvWeight } from "../../ops/conv2d.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight, type QuantizedWeight } from "../../ops/quant-weight.ts";
import { wordsPerRow, type QuantFormat } from "../../quant/formats.ts";
import { Tensor } from "../../gpu/tensor.ts";
import { packWeight } from "../../quant/packing.ts";
import { decideTensor, parsePolicy } from "../../quant/policy.ts";
import { quantizeWeight } from "../../quant/quantize.ts";
import type { WeightSource } from "../weights.ts";

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
export function quantizeLinears(gpu: Gpu, source: WeightSource, format: QuantFormat, prefix = "", groupSize?: number, policyId: "torchao" | "all" = "torchao"): QuantizedLinears {
  const policy = parsePolicy(policyId);
  const gs = groupSize ?? format.defaultGroupSize;
  const weights = new Map<string, QuantizedWeight>();
  const convs = new Map<string, QuantizedConvWeight>();
  const skipped: QuantizedLinears["skipped"] = [];
  const convOwned: Tensor[] = [];
  for (const full of source.names()) {
    if (!full.startsWith(prefix) || !full.endsWith(".weight")) continue;
    const shape = source.shape(full);
    if (shape.length !== 2 && !(policyId === "all" && shape.length === 4)) continue; // norms (1-D); convs unless `all`
    const module = full.slice(prefix.length, -".weight".length);
    const d = decideTensor(full, shape, format, gs, policy);
    if (!d.quantize) {
      skipped.push({ module, reason: d.reason });
      continue;
    }
    const q = quantizeWeight(source.f32(full), d.n, d.k, format, format.defaultGroupSize === "per-channel" ? "per-channel" : d.groupSize);
    const up = uploadQuantizedWeight(gpu, packWeight(format, q), module);
    if (shape.length === 4) {
      // conv2d reads the same words as plain u32 rows [Cout, wordsPerRow]: a view of the packed codes.
      const words = new Tensor([d.n, wordsPerRow(format, d.k)], "u32", up.codes.buffer, up.codes.byteOffset, up.codes.byteLength);
      convOwned.push(up.codes);
      convs.set(module, { format, shape: shape as [number, number, number, number], groupSize: up.groupSize, codes: words, scales: up.scales, zeroPoints: up.zeroPoints });
    } else weights.set(module, up);
  }
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
}

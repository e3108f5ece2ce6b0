/**
 * Quantizes the UNet's nn.Linear weights at load under the torchao policy (src/quant/policy.ts):
 * the CPU reference quantizer produces the codes, which are packed and uploaded once.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight, type QuantizedWeight } from "../../ops/quant-weight.ts";
import type { QuantFormat } from "../../quant/formats.ts";
import { packWeight } from "../../quant/packing.ts";
import { decideTensor, parsePolicy } from "../../quant/policy.ts";
import { quantizeWeight } from "../../quant/quantize.ts";
import type { WeightSource } from "../weights.ts";

export interface QuantizedLinears {
  /** By module name (the weight name without ".weight"). */
  weights: Map<string, QuantizedWeight>;
  /** Linear weights left float, with torchao's reason. */
  skipped: { module: string; reason: string }[];
  dispose(): void;
}

/** Every 2-D `.weight` under `prefix` that torchao would quantize with `format` (group size: the format's default unless given). */
export function quantizeLinears(gpu: Gpu, source: WeightSource, format: QuantFormat, prefix = "", groupSize?: number): QuantizedLinears {
  const policy = parsePolicy("torchao");
  const gs = groupSize ?? format.defaultGroupSize;
  const weights = new Map<string, QuantizedWeight>();
  const skipped: QuantizedLinears["skipped"] = [];
  for (const full of source.names()) {
    if (!full.startsWith(prefix) || !full.endsWith(".weight")) continue;
    const shape = source.shape(full);
    if (shape.length !== 2) continue; // convs and norms: not nn.Linear
    const module = full.slice(prefix.length, -".weight".length);
    const d = decideTensor(full, shape, format, gs, policy);
    if (!d.quantize) {
      skipped.push({ module, reason: d.reason });
      continue;
    }
    const q = quantizeWeight(source.f32(full), d.n, d.k, format, format.defaultGroupSize === "per-channel" ? "per-channel" : d.groupSize);
    weights.set(module, uploadQuantizedWeight(gpu, packWeight(format, q), module));
  }
  return {
    weights,
    skipped,
    dispose: () => {
      for (const w of weights.values()) disposeQuantizedWeight(w);
      weights.clear();
    },
  };
}

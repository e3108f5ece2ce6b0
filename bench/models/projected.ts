/**
 * Weight bytes on the GPU that each policy × format would take, computed from a checkpoint's header
 * only (no GPU, seconds): codes as `wordsPerRow` u32 words per row, f32 scales (and zero points where
 * the format stores them) per group, float tensors at 4 bytes (ModelWeights keeps float weights f32
 * today) and at 2 bytes (what an f16 float store would take). It gives the policy-"all" numbers the
 * UNet cannot measure yet, and checks the measured torchao numbers.
 * Run: `node bench/models/build-and-run.mjs --projected --dir <unet folder> --model <id>`.
 */
import { QUANT_FORMATS, wordsPerRow, type QuantFormat } from "../../src/quant/formats.ts";
import { decideTensor, parsePolicy, type QuantPolicyId } from "../../src/quant/policy.ts";
import type { WeightSource } from "../../src/models/weights.ts";

export interface Projection {
  policy: QuantPolicyId | "none";
  quant: string;
  quantizedTensors: number;
  quantizedBytes: number;
  floatParams: number;
  /** Total with float tensors in f32 (as loaded today) and in f16. */
  bytesFloatF32: number;
  bytesFloatF16: number;
}

function project(source: WeightSource, format: QuantFormat | null, policyId: QuantPolicyId): Projection {
  const policy = parsePolicy(policyId);
  let quantizedTensors = 0;
  let quantizedBytes = 0;
  let floatParams = 0;
  for (const name of source.names()) {
    const shape = source.shape(name);
    const numel = shape.reduce((a, b) => a * b, 1);
    const d = format ? decideTensor(name, shape, format, format.defaultGroupSize, policy) : null;
    if (!format || !d || !d.quantize) {
      floatParams += numel;
      continue;
    }
    const groups = d.n * (d.k / d.groupSize);
    quantizedTensors++;
    quantizedBytes += d.n * wordsPerRow(format, d.k) * 4 + groups * 4 * (format.storesWeightZeroPoint ? 2 : 1);
  }
  return {
    policy: format ? policyId : "none",
    quant: format?.scheme ?? "float",
    quantizedTensors,
    quantizedBytes,
    floatParams,
    bytesFloatF32: quantizedBytes + floatParams * 4,
    bytesFloatF16: quantizedBytes + floatParams * 2,
  };
}

/** float, then W8A8 / W4A8 under torchao and all. */
export function projections(source: WeightSource): Projection[] {
  const out = [project(source, null, "torchao")];
  for (const policy of ["torchao", "all"] as const) {
    for (const q of ["W8A8", "W4A8"] as const) out.push(project(source, QUANT_FORMATS[q], policy));
  }
  return out;
}

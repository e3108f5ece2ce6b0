/**
 * Reference quantized linear y = x·Wᵀ + bias with the arithmetic of the golden fixtures:
 * W8A8 → `Y_int_path_f32` (int32 accumulation, then two float32 rescales, then bias),
 * W8A16 → `Y_int_path_f32` ((x·W_qᵀ)·w_scale + bias), W4A8 / W4A16 → `Y_f64` (dequantize, then a
 * float64 dot product rounded once to float32). The GPU kernels are checked against this.
 */
import { dequantizeBlocks, quantizeActivations } from "./quantize.ts";
import { unpackWeight, type PackedWeight } from "./packing.ts";
import { weightGroupSizeProblem } from "./formats.ts";

const f32 = Math.fround;

/** x [M, K] float32, weight packed [N, K], bias [N] or null → y [M, N] float32. */
export function quantizedLinearReference(x: Float32Array, weight: PackedWeight, bias: Float32Array | null): Float32Array {
  const { n, k, format } = weight;
  const groupProblem = weightGroupSizeProblem(format, k, weight.groupSize);
  if (groupProblem) throw new Error(`quantizedLinearReference: ${groupProblem}`);
  if (x.length % k !== 0) throw new Error(`quantizedLinearReference: x has ${x.length} values, not a multiple of K = ${k}`);
  if (bias && bias.length !== n) throw new Error(`quantizedLinearReference: bias has ${bias.length} values, expected N = ${n}`);
  const m = x.length / k;
  const w = unpackWeight(weight);
  const y = new Float32Array(m * n);
  const b = (j: number) => (bias ? (bias[j] as number) : 0);

  if (format.linear === "int8-int8-acc") {
    const xq = quantizeActivations(x, m, k, format);
    for (let i = 0; i < m; i++) {
      const xs = xq.scales[i] as number;
      for (let j = 0; j < n; j++) {
        let acc = 0; // exact: |acc| ≤ 127·128·K stays far below 2^53
        for (let c = 0; c < k; c++) acc += (xq.codes[i * k + c] as number) * (w.codes[j * k + c] as number);
        // torchao: (float32(acc) · x_scale) · w_scale, in that order, then + bias.
        y[i * n + j] = f32(f32(f32(f32(acc) * xs) * (w.scales[j] as number)) + b(j));
      }
    }
    return y;
  }

  if (format.linear === "weight-only-int8") {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0; // float64 sum of float32 x times integer codes; rounded once to float32
        for (let c = 0; c < k; c++) acc += (x[i * k + c] as number) * (w.codes[j * k + c] as number);
        y[i * n + j] = f32(f32(f32(acc) * (w.scales[j] as number)) + b(j));
      }
    }
    return y;
  }

  // Dequantize-then-linear: activations dequantized too when the format quantizes them.
  const xd = format.activation ? dequantizeBlocks(quantizeActivations(x, m, k, format), format.activation) : x;
  const wd = dequantizeBlocks(w, format.weight);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = b(j);
      for (let c = 0; c < k; c++) acc += (xd[i * k + c] as number) * (wd[j * k + c] as number);
      y[i * n + j] = f32(acc);
    }
  }
  return y;
}

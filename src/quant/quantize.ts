/**
 * CPU reference quantizers, bit-exact with torchao v0.9 (README of the golden `quant/` folder).
 * Every step that torch does in float32 is rounded with Math.fround here; rounding to integers is
 * round-half-to-even like torch.round (JS Math.round rounds halves up, so it is not used).
 */
import { resolveGroupSize, type IntRangeSpec, type QuantFormat } from "./formats.ts";

const f32 = Math.fround;

/** 1.5·2^52: adding it to a double pushes every fraction bit out, so the FPU's own ties-to-even rounding applies. */
const RNE_SHIFT = 6755399441055744;

/**
 * torch.round on a float: nearest integer, ties to even. Exact for |v| < 2^51 (float32 codes are far
 * smaller); larger or non-finite values pass through unchanged, as they are already integers or NaN/∞.
 */
export function roundHalfEven(v: number): number {
  if (!(Math.abs(v) < 2 ** 51)) return v;
  return v + RNE_SHIFT - RNE_SHIFT;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Integer codes with one scale (and zero point) per group of `groupSize` consecutive elements of a row. */
export interface QuantizedBlocks {
  rows: number;
  cols: number;
  groupSize: number;
  /** [rows, cols] codes in the spec's range (uint4 codes stay 0..15). */
  codes: Int8Array;
  /** [rows, cols / groupSize], float32. */
  scales: Float32Array;
  /** [rows, cols / groupSize]: the integer zero point (as float) or the float-domain one; all 0 for symmetric. */
  zeroPoints: Float32Array;
}

/**
 * Quantizes a row-major [rows, cols] float32 matrix in blocks of (1, groupSize): torchao's
 * choose_qparams_affine + quantize_affine for one IntRangeSpec. Weights use groups along K;
 * per-token activations use groupSize = cols.
 */
export function quantizeBlocks(x: Float32Array, rows: number, cols: number, groupSize: number, spec: IntRangeSpec): QuantizedBlocks {
  if (x.length !== rows * cols) throw new Error(`quantizeBlocks: expected ${rows}×${cols} = ${rows * cols} values, got ${x.length}`);
  if (cols % groupSize !== 0) throw new Error(`quantizeBlocks: ${cols} columns do not split into groups of ${groupSize}`);
  const groups = cols / groupSize;
  const codes = new Int8Array(rows * cols);
  const scales = new Float32Array(rows * groups);
  const zeroPoints = new Float32Array(rows * groups);
  const { qmin, qmax, eps } = spec;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const start = r * cols + g * groupSize;
      let mn = Infinity;
      let mx = -Infinity;
      let nonFinite = 0; // v − v is NaN exactly for NaN and ±∞
      for (let i = start; i < start + groupSize; i++) {
        const v = x[i] as number;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        nonFinite += v - v;
      }
      if (nonFinite !== 0) {
        throw new Error(`quantizeBlocks: row ${r}, group ${g} (columns ${g * groupSize}..${(g + 1) * groupSize - 1}) holds NaN or ±Infinity; only finite values can be quantized`);
      }
      let scale: number;
      let zp = 0;
      if (spec.mapping === "asymmetric-float-zp") {
        // int4_weight_only: no preserve_zero; zero point = mn + scale·mid in the float domain.
        const mid = (qmax + qmin + 1) / 2;
        scale = Math.max(f32(f32(mx - mn) / (qmax - qmin)), eps);
        zp = f32(mn + f32(scale * mid));
        const minVal = f32(zp - f32(scale * mid));
        for (let i = start; i < start + groupSize; i++) {
          codes[i] = clamp(roundHalfEven(f32(f32((x[i] as number) - minVal) / scale)), qmin, qmax);
        }
      } else {
        // preserve_zero: the range always contains 0, so 0 is exactly representable.
        mn = Math.min(mn, 0);
        mx = Math.max(mx, 0);
        if (spec.mapping === "symmetric") {
          scale = Math.max(f32(Math.max(-mn, mx) / ((qmax - qmin) / 2)), eps);
        } else {
          scale = Math.max(f32(f32(mx - mn) / (qmax - qmin)), eps);
          zp = clamp(qmin - roundHalfEven(f32(mn / scale)), qmin, qmax);
        }
        // torchao multiplies by 1/scale computed in float32 first, not divides.
        const inv = f32(1 / scale);
        for (let i = start; i < start + groupSize; i++) {
          codes[i] = clamp(roundHalfEven(f32((x[i] as number) * inv)) + zp, qmin, qmax);
        }
      }
      scales[r * groups + g] = scale;
      zeroPoints[r * groups + g] = zp;
    }
  }
  return { rows, cols, groupSize, codes, scales, zeroPoints };
}

/** torchao's dequantize_affine for blocks quantized with `spec`. */
export function dequantizeBlocks(q: QuantizedBlocks, spec: IntRangeSpec): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  const groups = q.cols / q.groupSize;
  const mid = (spec.qmax + spec.qmin + 1) / 2;
  for (let r = 0; r < q.rows; r++) {
    for (let c = 0; c < q.cols; c++) {
      const gi = r * groups + Math.floor(c / q.groupSize);
      const scale = q.scales[gi] as number;
      const zp = q.zeroPoints[gi] as number;
      const code = q.codes[r * q.cols + c] as number;
      out[r * q.cols + c] =
        spec.mapping === "asymmetric-float-zp" ? f32(f32((code - mid) * scale) + zp) : f32((code - zp) * scale);
    }
  }
  return out;
}

/** Quantizes a [N, K] weight for a format (group size defaults to the format's; per-channel = K). */
export function quantizeWeight(w: Float32Array, n: number, k: number, format: QuantFormat, groupSize?: number | "per-channel"): QuantizedBlocks {
  return quantizeBlocks(w, n, k, resolveGroupSize(format, k, groupSize), format.weight);
}

/** Per-token activation quantization of x [M, K] (W8A8 symmetric, W4A8 asymmetric). Weight-only formats throw. */
export function quantizeActivations(x: Float32Array, m: number, k: number, format: QuantFormat): QuantizedBlocks {
  if (!format.activation) throw new Error(`${format.scheme} is weight-only: activations stay float`);
  return quantizeBlocks(x, m, k, k, format.activation);
}

/**
 * The float32 value torchao rounds to get the code of `x` (before adding an integer zero point):
 * x·(1/scale), or (x − min_val)/scale for the float-zero-point mapping. Verifiers use it to allow the
 * ±1 code flip the fixtures permit where this lies within 1e-6 of a .5 tie.
 */
export function preRoundValue(x: number, scale: number, zeroPoint: number, spec: IntRangeSpec): number {
  if (spec.mapping === "asymmetric-float-zp") {
    const mid = (spec.qmax + spec.qmin + 1) / 2;
    return f32(f32(x - f32(zeroPoint - f32(scale * mid))) / scale);
  }
  return f32(x * f32(1 / scale));
}

/** Distance in float32 units in the last place between two float32 values (∞ when one is NaN). */
export function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const buf = new Float32Array([a, b]);
  const bits = new Int32Array(buf.buffer);
  // Map sign-magnitude bit patterns to a monotonic integer line so that −0 and +0 are 0 apart.
  const ord = (i: number) => (i < 0 ? -(i & 0x7fffffff) : i);
  return Math.abs(ord(bits[0] as number) - ord(bits[1] as number));
}

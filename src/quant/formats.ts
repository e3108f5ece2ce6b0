/**
 * Every quantization format we run, defined once as data (torchao v0.9 semantics; formulas in
 * /work/shared/golden/quant/README.md). Quantizers, packers, the pack file and the WGSL include
 * `shaders/include/quant_formats.wgsl` (written by the kernels side) all read these records.
 *
 * GPU storage layout (the WGSL side must match bit for bit; `test/quant/packing.test.ts` pins it):
 * - int8 codes: row-major [N, Kp] with Kp = K rounded up to a multiple of 4, pad codes 0. Four codes per
 *   u32 word, little-endian: code k of a row sits in bits 8·(k % 4) .. 8·(k % 4)+7 of word k / 4 of that
 *   row, as two's complement (unpack: `(i32(w << (24 - 8·(k%4))) >> 24)`).
 * - int4 codes: row-major [N, K/8] words, K a multiple of the group size (so of 8). Eight codes per u32:
 *   code k sits in the nibble at bits 4·(k % 8) .. 4·(k % 8)+3 of word k / 8 (first element in the LOW
 *   nibble). The nibble holds `code + INT4_NIBBLE_OFFSET[format]` ∈ 0..15; the GPU always unpacks
 *   `s = i32(nibble) − 8`, which is the signed code for W4A8 and `q − 8` for W4A16's uint4 codes q, so
 *   W4A8: w = s·scale, W4A16: w = s·scale + zero_point (torchao's FLOAT zero-point domain).
 * - scales: f32 [N, K / groupSize] (per-channel formats: [N, 1]); zero points (W4A16 only): f32, same shape.
 * - activations are quantized at run time per token (row of [tokens, K]); W8A8 symmetric (no zero point),
 *   W4A8 asymmetric with an integer zero point held in f32.
 */

/** Scheme names used in packs and on the command line. */
export type QuantSchemeId = "W8A8" | "W4A8" | "W8A16" | "W4A16";

/** How a tensor of float values maps to integer codes (README "Common"). */
export type QuantMapping =
  /** scale = amax / ((qmax − qmin)/2), zero point 0. */
  | "symmetric"
  /** preserve_zero asymmetric: scale = (mx − mn)/(qmax − qmin), integer zero point. */
  | "asymmetric-int-zp"
  /** no preserve_zero, zero point in the float domain (torchao int4_weight_only). */
  | "asymmetric-float-zp";

export interface IntRangeSpec {
  mapping: QuantMapping;
  bits: 4 | 8;
  qmin: number;
  qmax: number;
  /** Lower bound on the scale, as the float32 value torch clamps with. */
  eps: number;
}

/** How the reference linear computes Y (the fixture's `Y_int_path_f32` or `Y_f64`). */
export type LinearPath =
  /** int32 Σ x_q·w_q, then float32 (acc·x_scale)·w_scale + bias (torchao int8×int8 CPU kernel). */
  | "int8-int8-acc"
  /** float32 (X·W_qᵀ)·w_scale + bias (torchao int8 weight-only). */
  | "weight-only-int8"
  /** dequantize both sides, then a float linear (torchao fallback; fixtures give it in float64). */
  | "dequantize-then-linear";

export interface QuantFormat {
  scheme: QuantSchemeId;
  /** The torchao call this mirrors (documentation and pack metadata). */
  torchao: string;
  /** Prefix of the fixture manifest's `scheme` field for this format. */
  fixturePrefix: string;
  weight: IntRangeSpec;
  /** Group size along K, or "per-channel" (one group = a whole row). */
  defaultGroupSize: number | "per-channel";
  /** Group sizes this format accepts (per-channel formats accept only "per-channel"). */
  allowedGroupSizes: readonly (number | "per-channel")[];
  /** Per-token activation quantization, or null for weight-only formats (activations stay float). */
  activation: IntRangeSpec | null;
  linear: LinearPath;
  /** Whether weight zero points are stored (only the float-domain ones; integer zero points here are 0). */
  storesWeightZeroPoint: boolean;
}

/** torch.finfo(torch.float32).eps, torchao's default eps for these schemes. */
export const F32_EPS = 2 ** -23;

/** Stored nibble = code + offset; the GPU reads s = nibble − INT4_UNPACK_BIAS. */
export const INT4_UNPACK_BIAS = 8;
export const INT4_CODES_PER_WORD = 8;
export const INT8_CODES_PER_WORD = 4;

export const QUANT_FORMATS: Record<QuantSchemeId, QuantFormat> = {
  W8A8: {
    scheme: "W8A8",
    torchao: "int8_dynamic_activation_int8_weight()",
    fixturePrefix: "w8a8_int8dyn_act_int8_weight",
    weight: { mapping: "symmetric", bits: 8, qmin: -128, qmax: 127, eps: F32_EPS },
    defaultGroupSize: "per-channel",
    allowedGroupSizes: ["per-channel"],
    // torch < 2.6 branch: symmetric "reduced range" −127..127 with eps 1e-5 (as float32).
    activation: { mapping: "symmetric", bits: 8, qmin: -127, qmax: 127, eps: Math.fround(1e-5) },
    linear: "int8-int8-acc",
    storesWeightZeroPoint: false,
  },
  W4A8: {
    scheme: "W4A8",
    torchao: "int8_dynamic_activation_int4_weight(group_size=32)",
    fixturePrefix: "w4a8_int8dyn_act_int4_weight",
    weight: { mapping: "symmetric", bits: 4, qmin: -8, qmax: 7, eps: F32_EPS },
    defaultGroupSize: 32,
    allowedGroupSizes: [32, 64, 128, 256],
    activation: { mapping: "asymmetric-int-zp", bits: 8, qmin: -128, qmax: 127, eps: F32_EPS },
    linear: "dequantize-then-linear",
    storesWeightZeroPoint: false,
  },
  W8A16: {
    scheme: "W8A16",
    torchao: "int8_weight_only()",
    fixturePrefix: "w8_int8_weight_only",
    weight: { mapping: "symmetric", bits: 8, qmin: -128, qmax: 127, eps: F32_EPS },
    defaultGroupSize: "per-channel",
    allowedGroupSizes: ["per-channel"],
    activation: null,
    linear: "weight-only-int8",
    storesWeightZeroPoint: false,
  },
  W4A16: {
    scheme: "W4A16",
    torchao: "int4_weight_only(group_size)",
    fixturePrefix: "w4_int4_weight_only",
    weight: { mapping: "asymmetric-float-zp", bits: 4, qmin: 0, qmax: 15, eps: Math.fround(1e-6) },
    defaultGroupSize: 128,
    allowedGroupSizes: [32, 64, 128, 256],
    activation: null,
    linear: "dequantize-then-linear",
    storesWeightZeroPoint: true,
  },
};

/** Nibble offset for a 4-bit format: signed −8..7 codes are stored +8, uint4 codes 0..15 as they are. */
export function int4NibbleOffset(f: QuantFormat): number {
  return f.weight.qmin < 0 ? INT4_UNPACK_BIAS : 0;
}

export function parseSchemeId(s: string): QuantSchemeId {
  const up = s.toUpperCase();
  if (up in QUANT_FORMATS) return up as QuantSchemeId;
  throw new Error(`unknown quantization scheme "${s}"; expected one of ${Object.keys(QUANT_FORMATS).join(", ")}`);
}

/** The format whose fixture prefix starts a golden manifest's `scheme` (e.g. "w4_int4_weight_only_g32"). */
export function formatForFixtureScheme(fixtureScheme: string): QuantFormat {
  // Longest prefix first, so "w4a8_…" never matches a shorter prefix by accident.
  const byLength = Object.values(QUANT_FORMATS).sort((a, b) => b.fixturePrefix.length - a.fixturePrefix.length);
  const f = byLength.find((x) => fixtureScheme.startsWith(x.fixturePrefix));
  if (!f) {
    throw new Error(`no quantization format for fixture scheme "${fixtureScheme}"; known prefixes: ${byLength.map((x) => x.fixturePrefix).join(", ")}`);
  }
  return f;
}

/** Concrete group size for a [N, K] weight: per-channel means K. Throws when K does not split into groups. */
export function resolveGroupSize(f: QuantFormat, k: number, groupSize: number | "per-channel" = f.defaultGroupSize): number {
  if (!f.allowedGroupSizes.includes(groupSize)) {
    throw new Error(`${f.scheme}: group size ${groupSize} is not supported; expected one of ${f.allowedGroupSizes.join(", ")}`);
  }
  if (groupSize === "per-channel") return k;
  if (k % groupSize !== 0) throw new Error(`${f.scheme}: K = ${k} is not a multiple of the group size ${groupSize}`);
  return groupSize;
}

/**
 * Whether a stored weight's group size is one its format produces: K itself for the per-channel formats (one scale
 * per output row), an allowed group size dividing K for the grouped ones. The int8 kernels read one scale per row, so a
 * W8A8 weight with groups would run with the wrong scales; the message says what was expected.
 */
export function weightGroupSizeProblem(f: QuantFormat, k: number, groupSize: number): string | null {
  if (f.allowedGroupSizes.includes("per-channel")) {
    return groupSize === k ? null : `${f.scheme} weights have one scale per output row (group size = K = ${k}), found group size ${groupSize}`;
  }
  if (!f.allowedGroupSizes.includes(groupSize)) return `${f.scheme} group size ${groupSize} is not one of ${f.allowedGroupSizes.join(", ")}`;
  return k % groupSize === 0 ? null : `${f.scheme}: K = ${k} is not a multiple of the group size ${groupSize}`;
}

/** u32 words per packed row of K codes. */
export function wordsPerRow(f: QuantFormat, k: number): number {
  return f.weight.bits === 4 ? Math.ceil(k / INT4_CODES_PER_WORD) : Math.ceil(k / INT8_CODES_PER_WORD);
}

/** Refuses a group size the scheme cannot store (per-channel schemes take none but "per-channel"). */
export function checkGroupSize(scheme: QuantSchemeId, groupSize: number | "per-channel" | undefined): void {
  const allowed = QUANT_FORMATS[scheme].allowedGroupSizes;
  if (groupSize !== undefined && !allowed.includes(groupSize)) throw new Error(`${scheme}: group size ${groupSize} is not one of ${allowed.join(", ")}`);
}

// The operands of the conv kernels (conv2d.wgsl, conv2d_rows.wgsl, conv2d_cpu.wgsl): x, the weight in any of its
// formats with its scale and zero-point reads, a per-element read hook (conv2d_cpu.wgsl reads whole words itself),
// and the bias. Expects `Params` (k_total, k_words, scale_groups, group_size). The weight is f32/f16 [Cout, K]
// (K = Cin·KH·KW), or int8 (WEIGHT_INT8) / int4 (WEIGHT_INT4) codes packed in u32 rows (layout of
// src/quant/formats.ts), dequantized on read.
#include "include/quant_formats.wgsl"

@group(0) @binding(1) var<storage, read> x: array<elem>;
#if WEIGHT_FLOAT
@group(0) @binding(2) var<storage, read> weight: array<elem>;
#else
@group(0) @binding(2) var<storage, read> weight_codes: array<u32>;
@group(0) @binding(3) var<storage, read> weight_scales: array<scale_word>;
#endif
#if WEIGHT_ZERO_POINT
@group(0) @binding(6) var<storage, read> weight_zero_points: array<scale_word>;
#endif
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<elem>;
#endif

#if WEIGHT_FLOAT
#else
fn weight_scale(i: u32) -> f32 { return scale_at(weight_scales[scale_word_index(i)], i); }
#endif
#if WEIGHT_ZERO_POINT
fn weight_zero_point(i: u32) -> f32 { return scale_at(weight_zero_points[scale_word_index(i)], i); }
#endif

// Weight (co, k) as f32, dequantized for the int formats (scale per row, or per row and K group).
fn read_weight(co: u32, k: u32) -> f32 {
#if WEIGHT_FLOAT
  return f32(weight[co * params.k_total + k]);
#endif
#if WEIGHT_INT8
  let word = weight_codes[co * params.k_words + k / 4u];
  let code = (bitcast<i32>(word << (24u - 8u * (k % 4u)))) >> 24u;
  return f32(code) * weight_scale(co);
#endif
#if WEIGHT_INT4
  let word = weight_codes[co * params.k_words + k / 8u];
  let nibble = (word >> (4u * (k % 8u))) & 15u;
  let g = co * params.scale_groups + k / params.group_size;
#if WEIGHT_ZERO_POINT
  // W4A16: uint4 code q stored as is, so nibble − 8 = q − mid; zero point in the float domain.
  return f32(i32(nibble) - 8) * weight_scale(g) + weight_zero_point(g);
#else
  return f32(i32(nibble) - 8) * weight_scale(g);
#endif
#endif
}

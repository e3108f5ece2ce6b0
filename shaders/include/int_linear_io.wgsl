// Operands and epilogue of the integer-path linears on per-token int8 activation codes (linear_int8.wgsl,
// linear_int8_tiles.wgsl): x codes 4 per u32 word with one scale (and for W4A8 a zero point) per token, weight codes
// int8 (4 per word) or int4 (8 per word), scales per channel or per group; y = act(v + bias) + residual.
#include "include/quant_formats.wgsl"
#include "include/activation_fn.wgsl"

struct Params {
  m: u32,
  n: u32,
  // u32 words per row of x codes (K padded to 4) and of weight codes.
  x_words: u32,
  w_words: u32,
  group_size: u32,
  groups_per_row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x_codes: array<u32>;
@group(0) @binding(2) var<storage, read> x_scales: array<f32>;
#if W_INT4
@group(0) @binding(3) var<storage, read> x_zeros: array<f32>;
#endif
@group(0) @binding(4) var<storage, read> w_codes: array<u32>;
@group(0) @binding(5) var<storage, read> w_scales: array<scale_word>;
#if HAS_BIAS
@group(0) @binding(6) var<storage, read> bias: array<elem>;
#endif
#if HAS_RESIDUAL
@group(0) @binding(7) var<storage, read> residual: array<elem>;
#endif
@group(0) @binding(8) var<storage, read_write> y: array<elem>;

fn w_scale(i: u32) -> f32 { return scale_at(w_scales[scale_word_index(i)], i); }

const ONES: u32 = 0x01010101u; // dot with this = sum of the 4 signed bytes

fn write_y(row: u32, col: u32, v_in: f32) {
  var v = v_in;
#if HAS_BIAS
  v = v + f32(bias[col]);
#endif
  v = apply_activation(v);
  let idx = row * params.n + col;
#if HAS_RESIDUAL
  v = v + f32(residual[idx]);
#endif
  y[idx] = elem(v);
}

// The operands of every matmul-shaped kernel and their hooks: y[b, m, n] = Σ_k A[b, m, k]·B[b, k, n].
// read_a / read_b hide the storage (layout, dequantization); write_y is the fused epilogue
// (per-channel scale, bias, activation, residual). The tile loops never look at storage directly.
// Defines: B_LAYOUT_NK (B stored as [N, K], i.e. a PyTorch linear weight), B_INT8 / B_INT4 (packed
// codes, see quant_formats.wgsl) with B_ZERO_POINT (W4A16 float zero points) and SCALE_IN_EPILOGUE
// (one scale per output channel, applied once after the sum), SCALES_F16 (scales and zero points
// stored as f16 pairs), HAS_BIAS, HAS_RESIDUAL, ACT_*.
#include "include/quant_formats.wgsl"
#include "include/activation_fn.wgsl"

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // Elements between consecutive batch matrices; 0 broadcasts one matrix over the batch.
  a_batch_stride: u32,
  b_batch_stride: u32,
  // Quantized B only: codes per scale group, groups per row of N, u32 words per packed row.
  group_size: u32,
  groups_per_row: u32,
  words_per_row: u32,
#if EPILOGUE_UNIFORM
  // EPILOGUE_UNIFORM (matmul_cpu.wgsl): bias (bit 0) and residual (bit 1) switched per dispatch, and the
  // activation's id, so one pipeline serves every epilogue — lavapipe spends seconds compiling each one.
  epilogue: u32,
  act: u32,
#endif
#if SPLIT_K
  // SPLIT_K (matmul.wgsl, src/ops/split-k.ts): workgroup z = slice·batches + batch sums k in [slice·k_slice, +k_slice).
  k_slice: u32,
  batches: u32,
#endif
}

@group(0) @binding(0) var<uniform> params: Params;
// VEC4_AB (K a multiple of 4; float [N, K] B, or any B in matmul_cpu.wgsl): A (and a float B) bound as vec4s along K, so a load op
// brings 4 values (lavapipe pays per load, see matmul_rows.wgsl). The bindings stay whole vec4s:
// every row holds a multiple of 4 values.
#if A_INT8
// A_INT8 (matmul_cpu.wgsl only, W8A8 / W4A8): A is per-token int8 activation codes from quant_blocks.wgsl,
// 4 per u32 word along K (K % 4 == 0, so a row is K / 4 words), with one scale per row and, for the
// asymmetric W4A8 activations (A_ZERO_POINT), one zero point per row.
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(8) var<storage, read> a_scales: array<f32>;
#if A_ZERO_POINT
@group(0) @binding(9) var<storage, read> a_zeros: array<f32>;
#endif
#else
#if F16_WORDS
// F16_WORDS (matmul_cpu.wgsl, f16 storage): A and a float B bound as u32 pairs, 4 halves per vec2, unpacked in
// registers. lavapipe loads each vector component separately, so this halves the loads of vec4<f16>.
@group(0) @binding(1) var<storage, read> a: array<vec2<u32>>;
#else
#if VEC4_AB
@group(0) @binding(1) var<storage, read> a: array<vec4<elem>>;
#else
@group(0) @binding(1) var<storage, read> a: array<elem>;
#endif
#endif
#endif
#if B_QUANT
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> b_scales: array<scale_word>;
#if B_ZERO_POINT
@group(0) @binding(4) var<storage, read> b_zeros: array<scale_word>;
#endif
#else
#if F16_WORDS
@group(0) @binding(2) var<storage, read> b: array<vec2<u32>>;
#else
#if VEC4_AB
@group(0) @binding(2) var<storage, read> b: array<vec4<elem>>;
#else
@group(0) @binding(2) var<storage, read> b: array<elem>;
#endif
#endif
#endif
#if HAS_BIAS
@group(0) @binding(5) var<storage, read> bias: array<elem>;
#else
#if EPILOGUE_UNIFORM
@group(0) @binding(5) var<storage, read> bias: array<elem>;
#endif
#endif
#if HAS_RESIDUAL
@group(0) @binding(6) var<storage, read> residual: array<elem>;
#else
#if EPILOGUE_UNIFORM
@group(0) @binding(6) var<storage, read> residual: array<elem>;
#endif
#endif
#if SPLIT_K
// The raw f32 sums of each K slice, [slices·batches, m, n]; split_k_sum.wgsl adds them and applies the epilogue.
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
#else
@group(0) @binding(7) var<storage, read_write> y: array<elem>;
#endif

#if A_INT8
#else
#if F16_WORDS
// (matmul_cpu.wgsl reads its packed operands itself.)
#else
// A[batch, row, k] with row < m and k < k guaranteed by the caller.
fn read_a_unchecked(batch: u32, row: u32, k: u32) -> f32 {
  let i = batch * params.a_batch_stride + row * params.k + k;
#if VEC4_AB
  return f32(a[i / 4u][i % 4u]);
#else
  return f32(a[i]);
#endif
}

// A with zero outside the matrix, so partial edge tiles add nothing.
fn read_a(batch: u32, row: u32, k: u32) -> f32 {
  if (row >= params.m || k >= params.k) { return 0.0; }
  return read_a_unchecked(batch, row, k);
}
#endif
#endif

#if B_QUANT
fn b_scale(i: u32) -> f32 { return scale_at(b_scales[scale_word_index(i)], i); }
#if B_ZERO_POINT
fn b_zero(i: u32) -> f32 { return scale_at(b_zeros[scale_word_index(i)], i); }
#endif
#endif

#if F16_WORDS
#else
// B[batch, k, col] as f32; quantized codes are dequantized here, in registers.
fn read_b_unchecked(batch: u32, k: u32, col: u32) -> f32 {
#if B_INT8
  let code = f32(unpack_int8(b[col * params.words_per_row + k / INT8_PER_WORD], k % INT8_PER_WORD));
#if SCALE_IN_EPILOGUE
  return code;
#else
  return code * b_scale(col * params.groups_per_row + k / params.group_size);
#endif
#endif
#if B_INT4
  let s = f32(unpack_int4(b[col * params.words_per_row + k / INT4_PER_WORD], k % INT4_PER_WORD));
  let g = col * params.groups_per_row + k / params.group_size;
#if B_ZERO_POINT
  // torchao int4_weight_only: (q − 8)·scale + zero_point, zero point in the float domain.
  return s * b_scale(g) + b_zero(g);
#else
  return s * b_scale(g);
#endif
#endif
#if B_FLOAT
#if B_LAYOUT_NK
  let i = batch * params.b_batch_stride + col * params.k + k;
#else
  let i = batch * params.b_batch_stride + k * params.n + col;
#endif
#if VEC4_AB
  return f32(b[i / 4u][i % 4u]);
#else
  return f32(b[i]);
#endif
#endif
}

fn read_b(batch: u32, k: u32, col: u32) -> f32 {
  if (col >= params.n || k >= params.k) { return 0.0; }
  return read_b_unchecked(batch, k, col);
}
#endif

// The epilogue: y = act(sum·scale + bias) + residual, in that order; drops outputs outside [m, n].
#if SPLIT_K
// (SPLIT_K: the raw sum, into batch = slice·batches + batch of the partial sums; no scale, bias, activation or residual.)
fn write_y(batch: u32, row: u32, col: u32, sum: f32) {
  if (row >= params.m || col >= params.n) { return; }
  y[(batch * params.m + row) * params.n + col] = sum;
}
#else
fn write_y(batch: u32, row: u32, col: u32, sum: f32) {
  if (row >= params.m || col >= params.n) { return; }
  var v = sum;
#if SCALE_IN_EPILOGUE
  v = v * b_scale(col);
#endif
  let idx = (batch * params.m + row) * params.n + col;
#if EPILOGUE_UNIFORM
  if ((params.epilogue & 1u) != 0u) { v = v + f32(bias[col]); }
  v = apply_activation_id(v, params.act);
  if ((params.epilogue & 2u) != 0u) { v = v + f32(residual[idx]); }
#else
#if HAS_BIAS
  v = v + f32(bias[col]);
#endif
  v = apply_activation(v);
#if HAS_RESIDUAL
  v = v + f32(residual[idx]);
#endif
#endif
  y[idx] = elem(v);
}
#endif

#if SPLIT_K
#else
// write_y's per-column terms for the 4 columns col0 .. col0 + 3 (clamped to n - 1): the channel scale and the bias,
// loaded once by a kernel that writes many rows of the same columns (matmul_cpu.wgsl) instead of once per element.
struct ColumnTerms {
  scale: vec4<f32>,
  bias: vec4<f32>,
}

fn column_terms(col0: u32) -> ColumnTerms {
  let c = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
  var t = ColumnTerms(vec4<f32>(1.0), vec4<f32>(0.0));
#if SCALE_IN_EPILOGUE
  t.scale = vec4<f32>(b_scale(c.x), b_scale(c.y), b_scale(c.z), b_scale(c.w));
#endif
#if EPILOGUE_UNIFORM
  if ((params.epilogue & 1u) != 0u) { t.bias = vec4<f32>(f32(bias[c.x]), f32(bias[c.y]), f32(bias[c.z]), f32(bias[c.w])); }
#else
#if HAS_BIAS
  t.bias = vec4<f32>(f32(bias[c.x]), f32(bias[c.y]), f32(bias[c.z]), f32(bias[c.w]));
#endif
#endif
  return t;
}

// write_y for the 4 columns col0 .. col0 + 3 of a row < m, with the same arithmetic in the same order (so the
// results are the same bits); columns past n are dropped.
fn write_y4(batch: u32, row: u32, col0: u32, sum: vec4<f32>, t: ColumnTerms) {
  var v = sum;
#if SCALE_IN_EPILOGUE
  v = v * t.scale;
#endif
  let base = (batch * params.m + row) * params.n;
  let c = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u)) + vec4<u32>(base);
#if EPILOGUE_UNIFORM
  if ((params.epilogue & 1u) != 0u) { v = v + t.bias; }
  // Guarded: lavapipe pays for the switch even at id 0 (none): 4096×16×1280 (64-row kernel) took 31 ms unguarded, 21 ms guarded.
  if (params.act != 0u) {
    for (var i = 0u; i < 4u; i = i + 1u) { v[i] = apply_activation_id(v[i], params.act); }
  }
  if ((params.epilogue & 2u) != 0u) {
    v = v + vec4<f32>(f32(residual[c.x]), f32(residual[c.y]), f32(residual[c.z]), f32(residual[c.w]));
  }
#else
#if HAS_BIAS
  v = v + t.bias;
#endif
  for (var i = 0u; i < 4u; i = i + 1u) { v[i] = apply_activation(v[i]); }
#if HAS_RESIDUAL
  v = v + vec4<f32>(f32(residual[c.x]), f32(residual[c.y]), f32(residual[c.z]), f32(residual[c.w]));
#endif
#endif
  if (col0 + 3u < params.n) {
    y[c.x] = elem(v.x); y[c.y] = elem(v.y); y[c.z] = elem(v.z); y[c.w] = elem(v.w);
  } else {
    for (var i = 0u; i < 4u; i = i + 1u) {
      if (col0 + i < params.n) { y[base + col0 + i] = elem(v[i]); }
    }
  }
}
#endif

// Linear fast path for CPU drivers (lavapipe, measured ~3× the tiled loop; SwiftShader): no workgroup memory and
// no barriers. A thread owns 4 rows × 4 columns of y and walks K four at a time with vec4 loads
// (VEC4_AB, K a multiple of 4, B stored [N, K]): 8 vec4 loads feed 16 vec4 FMAs. CPU drivers pay per
// value loaded and per barrier, so this beats sharing tiles through workgroup memory. The 16 partial
// sums stay split over the 4 k-lanes until the end; each row is written by write_y4 (matmul_io.wgsl), with the
// columns' scale and bias loaded once per thread.
// Integer operands (the W8A8 / W4A8 linears on CPU adapters without matmul_cpu.wgsl's 8-lane subgroups, i.e.
// SwiftShader) are unpacked to f32 in registers, as in matmul_cpu.wgsl: A_INT8 reads one u32 of 4 activation
// codes per 4 k (minus the row's zero point with A_ZERO_POINT; the row's scale in the epilogue), B_INT8 one
// word of 4 per-channel codes (SCALE_IN_EPILOGUE), B_INT4 one word per 8 k, dequantized with its K group's scale
// (W4A8 instead sums each group's integer products exactly and scales the group sum, as linear_int8.wgsl).
// SwiftShader emulates dot4I8Packed, so there this beats linear_int8.wgsl (kernels-bench/RESULTS.md).
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

// Row values at k = 4q .. 4q + 3 (i = the row's start + q).
#if A_INT8
fn a_vec(i: u32, zero: f32) -> vec4<f32> { return unpack_int8x4(a[i]) - zero; }
#else
fn a_vec(i: u32, zero: f32) -> vec4<f32> { return vec4<f32>(a[i]); }
#endif
fn a_row_zero(row: u32) -> f32 {
#if A_ZERO_POINT
  return a_zeros[row];
#else
  return 0.0;
#endif
}

#if B_INT4
// The 4 columns' scales (and W4A16 zero points) of K group g.
fn group_scales(cols: vec4<u32>, g: u32) -> vec4<f32> {
  let c = cols * params.groups_per_row + g;
  return vec4<f32>(b_scale(c.x), b_scale(c.y), b_scale(c.z), b_scale(c.w));
}
fn group_zeros(cols: vec4<u32>, g: u32) -> vec4<f32> {
#if B_ZERO_POINT
  let c = cols * params.groups_per_row + g;
  return vec4<f32>(b_zero(c.x), b_zero(c.y), b_zero(c.z), b_zero(c.w));
#else
  return vec4<f32>(0.0);
#endif
}
#endif

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  // 4 rows per thread; WG_SIZE is 64 × 1 or 16 × 4 (see ROWS_KERNEL_SHAPES), so rows follow the global id.
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  let batch = wid.z;
  // Rows past m and columns past n load clamped (valid) addresses; write_y drops their results.
  let last_row = params.m - 1u;
  let last_col = params.n - 1u;
  let k4 = params.k / 4u;
#if B_QUANT
  // Quantized weights: one matrix for every batch (linears), rows of words_per_row words.
  let cols = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last_col));
  let bw = cols * params.words_per_row;
#else
  let b_base = batch * params.b_batch_stride / 4u;
  let b0 = b_base + min(col0, last_col) * k4;
  let b1 = b_base + min(col0 + 1u, last_col) * k4;
  let b2 = b_base + min(col0 + 2u, last_col) * k4;
  let b3 = b_base + min(col0 + 3u, last_col) * k4;
#endif
  let a_base = batch * params.a_batch_stride / 4u;
  let a0 = a_base + min(row0, last_row) * k4;
  let a1 = a_base + min(row0 + 1u, last_row) * k4;
  let a2 = a_base + min(row0 + 2u, last_row) * k4;
  let a3 = a_base + min(row0 + 3u, last_row) * k4;
  let z0 = a_row_zero(min(row0, last_row));
  let z1 = a_row_zero(min(row0 + 1u, last_row));
  let z2 = a_row_zero(min(row0 + 2u, last_row));
  let z3 = a_row_zero(min(row0 + 3u, last_row));
  // s[4·r + c] = partial sums of y[row0 + r, col0 + c], one per k mod 4.
  var s: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i = i + 1u) { s[i] = vec4<f32>(0.0); }
#if B_INT4
  // 8 k per step: one code word per column holds both halves (K and the group size are multiples of 8).
#if A_INT8
  // W4A8 as linear_int8.wgsl computes it: per K group, the products (code − zero)·(nibble − 8) are integers and
  // their f32 sums exact (|Σ| < 2^24 for groups of up to 8192 codes); each group's sum is then scaled, y = x_scale ·
  // Σ_g w_scale[g]·acc_g. t holds the current group's sums.
  var t = array<vec4<f32>, 16>();
#else
  var scales = vec4<f32>(0.0);
  var zeros = vec4<f32>(0.0);
#endif
  for (var q = 0u; q < k4; q = q + 2u) {
#if A_INT8
    let scales = vec4<f32>(1.0);
    let zeros = vec4<f32>(0.0);
#else
    if ((4u * q) % params.group_size == 0u) {
      scales = group_scales(cols, 4u * q / params.group_size);
      zeros = group_zeros(cols, 4u * q / params.group_size);
    }
#endif
    let wd = vec4<u32>(b[bw.x + q / 2u], b[bw.y + q / 2u], b[bw.z + q / 2u], b[bw.w + q / 2u]);
    let w0 = dequant_int4x4(wd.x, 0u, scales.x, zeros.x);
    let w1 = dequant_int4x4(wd.y, 0u, scales.y, zeros.y);
    let w2 = dequant_int4x4(wd.z, 0u, scales.z, zeros.z);
    let w3 = dequant_int4x4(wd.w, 0u, scales.w, zeros.w);
    let v0 = dequant_int4x4(wd.x, 1u, scales.x, zeros.x);
    let v1 = dequant_int4x4(wd.y, 1u, scales.y, zeros.y);
    let v2 = dequant_int4x4(wd.z, 1u, scales.z, zeros.z);
    let v3 = dequant_int4x4(wd.w, 1u, scales.w, zeros.w);
    let x0 = a_vec(a0 + q, z0);
    let x1 = a_vec(a1 + q, z1);
    let x2 = a_vec(a2 + q, z2);
    let x3 = a_vec(a3 + q, z3);
    let y0 = a_vec(a0 + q + 1u, z0);
    let y1 = a_vec(a1 + q + 1u, z1);
    let y2 = a_vec(a2 + q + 1u, z2);
    let y3 = a_vec(a3 + q + 1u, z3);
#if A_INT8
    t[0] = fma(x0, w0, t[0]); t[1] = fma(x0, w1, t[1]); t[2] = fma(x0, w2, t[2]); t[3] = fma(x0, w3, t[3]);
    t[4] = fma(x1, w0, t[4]); t[5] = fma(x1, w1, t[5]); t[6] = fma(x1, w2, t[6]); t[7] = fma(x1, w3, t[7]);
    t[8] = fma(x2, w0, t[8]); t[9] = fma(x2, w1, t[9]); t[10] = fma(x2, w2, t[10]); t[11] = fma(x2, w3, t[11]);
    t[12] = fma(x3, w0, t[12]); t[13] = fma(x3, w1, t[13]); t[14] = fma(x3, w2, t[14]); t[15] = fma(x3, w3, t[15]);
    t[0] = fma(y0, v0, t[0]); t[1] = fma(y0, v1, t[1]); t[2] = fma(y0, v2, t[2]); t[3] = fma(y0, v3, t[3]);
    t[4] = fma(y1, v0, t[4]); t[5] = fma(y1, v1, t[5]); t[6] = fma(y1, v2, t[6]); t[7] = fma(y1, v3, t[7]);
    t[8] = fma(y2, v0, t[8]); t[9] = fma(y2, v1, t[9]); t[10] = fma(y2, v2, t[10]); t[11] = fma(y2, v3, t[11]);
    t[12] = fma(y3, v0, t[12]); t[13] = fma(y3, v1, t[13]); t[14] = fma(y3, v2, t[14]); t[15] = fma(y3, v3, t[15]);
    if ((4u * q + 8u) % params.group_size == 0u) {
      let g = group_scales(cols, 4u * q / params.group_size);
      // Constant indices only (a dynamically indexed array would live in memory on CPU drivers).
      s[0] = s[0] + t[0] * g.x; s[1] = s[1] + t[1] * g.y;
      s[2] = s[2] + t[2] * g.z; s[3] = s[3] + t[3] * g.w;
      s[4] = s[4] + t[4] * g.x; s[5] = s[5] + t[5] * g.y;
      s[6] = s[6] + t[6] * g.z; s[7] = s[7] + t[7] * g.w;
      s[8] = s[8] + t[8] * g.x; s[9] = s[9] + t[9] * g.y;
      s[10] = s[10] + t[10] * g.z; s[11] = s[11] + t[11] * g.w;
      s[12] = s[12] + t[12] * g.x; s[13] = s[13] + t[13] * g.y;
      s[14] = s[14] + t[14] * g.z; s[15] = s[15] + t[15] * g.w;
      t = array<vec4<f32>, 16>();
    }
#else
    s[0] = fma(x0, w0, s[0]); s[1] = fma(x0, w1, s[1]); s[2] = fma(x0, w2, s[2]); s[3] = fma(x0, w3, s[3]);
    s[4] = fma(x1, w0, s[4]); s[5] = fma(x1, w1, s[5]); s[6] = fma(x1, w2, s[6]); s[7] = fma(x1, w3, s[7]);
    s[8] = fma(x2, w0, s[8]); s[9] = fma(x2, w1, s[9]); s[10] = fma(x2, w2, s[10]); s[11] = fma(x2, w3, s[11]);
    s[12] = fma(x3, w0, s[12]); s[13] = fma(x3, w1, s[13]); s[14] = fma(x3, w2, s[14]); s[15] = fma(x3, w3, s[15]);
    s[0] = fma(y0, v0, s[0]); s[1] = fma(y0, v1, s[1]); s[2] = fma(y0, v2, s[2]); s[3] = fma(y0, v3, s[3]);
    s[4] = fma(y1, v0, s[4]); s[5] = fma(y1, v1, s[5]); s[6] = fma(y1, v2, s[6]); s[7] = fma(y1, v3, s[7]);
    s[8] = fma(y2, v0, s[8]); s[9] = fma(y2, v1, s[9]); s[10] = fma(y2, v2, s[10]); s[11] = fma(y2, v3, s[11]);
    s[12] = fma(y3, v0, s[12]); s[13] = fma(y3, v1, s[13]); s[14] = fma(y3, v2, s[14]); s[15] = fma(y3, v3, s[15]);
#endif
  }
#else
  for (var q = 0u; q < k4; q = q + 1u) {
#if B_INT8
    let w0 = unpack_int8x4(b[bw.x + q]);
    let w1 = unpack_int8x4(b[bw.y + q]);
    let w2 = unpack_int8x4(b[bw.z + q]);
    let w3 = unpack_int8x4(b[bw.w + q]);
#else
    let w0 = vec4<f32>(b[b0 + q]);
    let w1 = vec4<f32>(b[b1 + q]);
    let w2 = vec4<f32>(b[b2 + q]);
    let w3 = vec4<f32>(b[b3 + q]);
#endif
    let x0 = a_vec(a0 + q, z0);
    let x1 = a_vec(a1 + q, z1);
    let x2 = a_vec(a2 + q, z2);
    let x3 = a_vec(a3 + q, z3);
    s[0] = fma(x0, w0, s[0]); s[1] = fma(x0, w1, s[1]); s[2] = fma(x0, w2, s[2]); s[3] = fma(x0, w3, s[3]);
    s[4] = fma(x1, w0, s[4]); s[5] = fma(x1, w1, s[5]); s[6] = fma(x1, w2, s[6]); s[7] = fma(x1, w3, s[7]);
    s[8] = fma(x2, w0, s[8]); s[9] = fma(x2, w1, s[9]); s[10] = fma(x2, w2, s[10]); s[11] = fma(x2, w3, s[11]);
    s[12] = fma(x3, w0, s[12]); s[13] = fma(x3, w1, s[13]); s[14] = fma(x3, w2, s[14]); s[15] = fma(x3, w3, s[15]);
  }
#endif
  // Per row: the 4 columns' sums, written with their scale and bias loaded once (column_terms, matmul_io.wgsl).
  let ones = vec4<f32>(1.0);
  let terms = column_terms(col0);
  // Threads of a 16 × 4 workgroup can start past the last row (row0 ≥ m): no rows to write, not m − row0 wrapped.
  let row_count = select(0u, min(4u, params.m - row0), row0 < params.m);
  for (var r = 0u; r < row_count; r = r + 1u) {
    let sums = vec4<f32>(dot(s[4u * r], ones), dot(s[4u * r + 1u], ones), dot(s[4u * r + 2u], ones), dot(s[4u * r + 3u], ones));
#if A_INT8
    // torchao's order: the integer sum times the token's scale, then (SCALE_IN_EPILOGUE) the channel's.
    write_y4(batch, row0 + r, col0, sums * a_scales[row0 + r], terms);
#else
    write_y4(batch, row0 + r, col0, sums, terms);
#endif
  }
}

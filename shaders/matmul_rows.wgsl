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
// (W4A8 instead multiplies the codes as integers, two products per u32 multiply: W4A8_PAIRS below; it scales each
// K group's exact sum, as linear_int8.wgsl).
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

#if W4A8_PAIRS
// W4A8 sums its integer products two at a time in 16-bit fields of one u32 multiply (SWAR). Biased activation
// codes u = code + 128 (0..255) and weight nibbles n (0..15) are never negative, so no field borrows:
//   (u(j+4) + u(j)·2^16) · (n(j) + n(j+4)·2^16) = u(j+4)·n(j) + (u(j)·n(j) + u(j+4)·n(j+4))·2^16   (mod 2^32),
// and the high field of dot(pairs, pairs) over j = 0..3 is Σ u·n over 8 k. The low field collects cross terms
// (≤ 4·255·15 = 15300 per 8 k) and the high field ≤ 8·255·15 = 30600 per 8 k: after 16 k neither has passed
// 2^16, so the high field is read out (>> 16) every 16 k. Each K group's exact sum is then
//   Σ (u − c)(n − 8) = Σ u·n − 8·Σ u − c·Σ n + 8·c·G,   c = 128 + the row's zero point, G = group size,
// in i32 (|Σ| ≤ 255·8·G < 2^24 for groups of up to 8192, so its f32 is exact). Per 2 products SwiftShader runs one u32
// multiply-add here, where float sums took per product a nibble unpack, an int-to-float conversion and an FMA:
// 1.2-1.3× the float sums (kernels-bench/RESULTS.md, session 15), and linear_int8.wgsl's bits.
const LOW_BYTES: u32 = 0x00FF00FFu;
const LOW_NIBBLES: u32 = 0x000F000Fu;
const LOW_HALF: u32 = 0xFFFFu;
const HIGH_HALF: u32 = 0xFFFF0000u;
// Flipping each byte's sign bit turns an int8 code into code + 128.
const BYTE_SIGNS: u32 = 0x80808080u;
// k per read-out of the high fields (see above).
const PAIR_SUM_K: u32 = 16u;

// A row's activation codes at 8 consecutive k (x: k 0-3, y: k 4-7, a byte each) as pair words u(j+4) | u(j) << 16.
fn act_pairs(x: u32, y: u32) -> vec4<u32> {
  let bx = x ^ BYTE_SIGNS;
  let by = y ^ BYTE_SIGNS;
  let ex = bx & LOW_BYTES; // u0 | u2 << 16
  let ey = by & LOW_BYTES; // u4 | u6 << 16
  let ox = (bx >> 8u) & LOW_BYTES; // u1 | u3 << 16
  let oy = (by >> 8u) & LOW_BYTES; // u5 | u7 << 16
  return vec4<u32>((ey & LOW_HALF) | (ex << 16u), (oy & LOW_HALF) | (ox << 16u), (ey >> 16u) | (ex & HIGH_HALF), (oy >> 16u) | (ox & HIGH_HALF));
}

// A column's int4 code word (nibble j = k j) as pair words n(j) | n(j+4) << 16.
fn weight_pairs(w: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(LOW_NIBBLES);
}

// Both 16-bit fields of each component of v, added: a word of pair sums to the plain sum.
fn field_sums(v: vec4<u32>) -> vec4<u32> {
  return (v & vec4<u32>(LOW_HALF)) + (v >> vec4<u32>(16u));
}

// The 4 pair words of v added (each field stays below 2^16 within PAIR_SUM_K k).
fn pair_total(v: vec4<u32>) -> u32 {
  return v.x + v.y + v.z + v.w;
}

// Row r's exact group sums Σ (u − c)(n − 8) for the 4 columns: un = Σ u·n per column, su = Σ u, sn = Σ n per column.
fn group_sums(un: vec4<u32>, su: u32, sn: vec4<u32>, c: i32) -> vec4<f32> {
  let g = i32(params.group_size);
  return vec4<f32>(vec4<i32>(un) - 8 * i32(su) - c * vec4<i32>(sn) + 8 * c * g);
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
#if W4A8_PAIRS
  // Per row r: its 4 column sums so far (y*: each K group's exact sum times its scale), the current group's Σ u·n per
  // column (un*) and the current 16 k's packed products (acc*); Σ u per row and Σ n per column of the current group
  // (su, sn; and within the current 16 k, packed). c: 128 + each row's zero point.
  var y0 = vec4<f32>(0.0); var y1 = vec4<f32>(0.0); var y2 = vec4<f32>(0.0); var y3 = vec4<f32>(0.0);
  var un0 = vec4<u32>(0u); var un1 = vec4<u32>(0u); var un2 = vec4<u32>(0u); var un3 = vec4<u32>(0u);
  var acc0 = vec4<u32>(0u); var acc1 = vec4<u32>(0u); var acc2 = vec4<u32>(0u); var acc3 = vec4<u32>(0u);
  var su = vec4<u32>(0u); var sn = vec4<u32>(0u);
  var su_packed = vec4<u32>(0u); var sn_packed = vec4<u32>(0u);
  let c = vec4<i32>(vec4<f32>(z0, z1, z2, z3)) + 128;
  for (var q = 0u; q < k4; q = q + 2u) {
    let wd = vec4<u32>(b[bw.x + q / 2u], b[bw.y + q / 2u], b[bw.z + q / 2u], b[bw.w + q / 2u]);
    let f0 = weight_pairs(wd.x);
    let f1 = weight_pairs(wd.y);
    let f2 = weight_pairs(wd.z);
    let f3 = weight_pairs(wd.w);
    let p0 = act_pairs(a[a0 + q], a[a0 + q + 1u]);
    let p1 = act_pairs(a[a1 + q], a[a1 + q + 1u]);
    let p2 = act_pairs(a[a2 + q], a[a2 + q + 1u]);
    let p3 = act_pairs(a[a3 + q], a[a3 + q + 1u]);
    acc0 = acc0 + vec4<u32>(dot(p0, f0), dot(p0, f1), dot(p0, f2), dot(p0, f3));
    acc1 = acc1 + vec4<u32>(dot(p1, f0), dot(p1, f1), dot(p1, f2), dot(p1, f3));
    acc2 = acc2 + vec4<u32>(dot(p2, f0), dot(p2, f1), dot(p2, f2), dot(p2, f3));
    acc3 = acc3 + vec4<u32>(dot(p3, f0), dot(p3, f1), dot(p3, f2), dot(p3, f3));
    su_packed = su_packed + vec4<u32>(pair_total(p0), pair_total(p1), pair_total(p2), pair_total(p3));
    sn_packed = sn_packed + vec4<u32>(pair_total(f0), pair_total(f1), pair_total(f2), pair_total(f3));
    let k_done = 4u * q + 8u;
    let group_end = k_done % params.group_size == 0u;
    if (k_done % PAIR_SUM_K == 0u || group_end) {
      let high = vec4<u32>(16u);
      un0 = un0 + (acc0 >> high); un1 = un1 + (acc1 >> high); un2 = un2 + (acc2 >> high); un3 = un3 + (acc3 >> high);
      acc0 = vec4<u32>(0u); acc1 = vec4<u32>(0u); acc2 = vec4<u32>(0u); acc3 = vec4<u32>(0u);
      su = su + field_sums(su_packed);
      sn = sn + field_sums(sn_packed);
      su_packed = vec4<u32>(0u);
      sn_packed = vec4<u32>(0u);
    }
    if (group_end) {
      let g = group_scales(cols, 4u * q / params.group_size);
      y0 = y0 + group_sums(un0, su.x, sn, c.x) * g;
      y1 = y1 + group_sums(un1, su.y, sn, c.y) * g;
      y2 = y2 + group_sums(un2, su.z, sn, c.z) * g;
      y3 = y3 + group_sums(un3, su.w, sn, c.w) * g;
      un0 = vec4<u32>(0u); un1 = vec4<u32>(0u); un2 = vec4<u32>(0u); un3 = vec4<u32>(0u);
      su = vec4<u32>(0u);
      sn = vec4<u32>(0u);
    }
  }
  let rows4 = array<vec4<f32>, 4>(y0, y1, y2, y3);
#else
  // s[4·r + c] = partial sums of y[row0 + r, col0 + c], one per k mod 4.
  var s: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i = i + 1u) { s[i] = vec4<f32>(0.0); }
#if B_INT4
  // W4A16, 8 k per step: one code word per column holds both halves (K and the group size are multiples of 8).
  var scales = vec4<f32>(0.0);
  var zeros = vec4<f32>(0.0);
  for (var q = 0u; q < k4; q = q + 2u) {
    if ((4u * q) % params.group_size == 0u) {
      scales = group_scales(cols, 4u * q / params.group_size);
      zeros = group_zeros(cols, 4u * q / params.group_size);
    }
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
    s[0] = fma(x0, w0, s[0]); s[1] = fma(x0, w1, s[1]); s[2] = fma(x0, w2, s[2]); s[3] = fma(x0, w3, s[3]);
    s[4] = fma(x1, w0, s[4]); s[5] = fma(x1, w1, s[5]); s[6] = fma(x1, w2, s[6]); s[7] = fma(x1, w3, s[7]);
    s[8] = fma(x2, w0, s[8]); s[9] = fma(x2, w1, s[9]); s[10] = fma(x2, w2, s[10]); s[11] = fma(x2, w3, s[11]);
    s[12] = fma(x3, w0, s[12]); s[13] = fma(x3, w1, s[13]); s[14] = fma(x3, w2, s[14]); s[15] = fma(x3, w3, s[15]);
    s[0] = fma(y0, v0, s[0]); s[1] = fma(y0, v1, s[1]); s[2] = fma(y0, v2, s[2]); s[3] = fma(y0, v3, s[3]);
    s[4] = fma(y1, v0, s[4]); s[5] = fma(y1, v1, s[5]); s[6] = fma(y1, v2, s[6]); s[7] = fma(y1, v3, s[7]);
    s[8] = fma(y2, v0, s[8]); s[9] = fma(y2, v1, s[9]); s[10] = fma(y2, v2, s[10]); s[11] = fma(y2, v3, s[11]);
    s[12] = fma(y3, v0, s[12]); s[13] = fma(y3, v1, s[13]); s[14] = fma(y3, v2, s[14]); s[15] = fma(y3, v3, s[15]);
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
#endif
  // Per row: the 4 columns' sums, written with their scale and bias loaded once (column_terms, matmul_io.wgsl).
  let ones = vec4<f32>(1.0);
  let terms = column_terms(col0);
  // Threads of a 16 × 4 workgroup can start past the last row (row0 ≥ m): no rows to write, not m − row0 wrapped.
  let row_count = select(0u, min(4u, params.m - row0), row0 < params.m);
  for (var r = 0u; r < row_count; r = r + 1u) {
#if W4A8_PAIRS
    let sums = rows4[r];
#else
    let sums = vec4<f32>(dot(s[4u * r], ones), dot(s[4u * r + 1u], ones), dot(s[4u * r + 2u], ones), dot(s[4u * r + 3u], ones));
#endif
#if A_INT8
    // torchao's order: the integer sum times the token's scale, then (SCALE_IN_EPILOGUE) the channel's.
    write_y4(batch, row0 + r, col0, sums * a_scales[row0 + r], terms);
#else
    write_y4(batch, row0 + r, col0, sums, terms);
#endif
  }
}

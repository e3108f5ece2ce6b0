// Integer-path quantized linear for per-token int8 activations (codes from quant_blocks.wgsl):
// W8A8: acc = Σ x_q·w_q in i32, y = (f32(acc)·x_scale)·w_scale + bias (torchao's order).
// W4A8 (W_INT4): per group g, acc_g = Σ (x_q − x_zp)·w_q exactly in i32, then
// y = x_scale·Σ_g w_scale[g]·acc_g + bias, which is dequantize-both-then-linear up to f32 rounding.
// A thread owns one output column and INT_ROWS rows, so each weight word is read once per INT_ROWS rows.
#include "include/elem.wgsl"
#include "include/int_linear_io.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = gid.x;
  let row0 = wid.y * INT_ROWS;
  if (col >= params.n) { return; }
  // Rows past m read row m−1 (valid memory) and are dropped at the write.
  var rows: array<u32, INT_ROWS>;
  for (var r = 0u; r < INT_ROWS; r = r + 1u) { rows[r] = min(row0 + r, params.m - 1u); }
  let wbase = col * params.w_words;
#if W_INT4
  var sum: array<f32, INT_ROWS>;
  for (var r = 0u; r < INT_ROWS; r = r + 1u) { sum[r] = 0.0; }
  let words_per_group = params.group_size / INT4_PER_WORD;
  for (var g = 0u; g < params.groups_per_row; g = g + 1u) {
    // Zeroed explicitly per group: lavapipe kept the previous group's sums without it (measured).
    var s_xn: array<i32, INT_ROWS>;
    var s_x: array<i32, INT_ROWS>;
    for (var r = 0u; r < INT_ROWS; r = r + 1u) { s_xn[r] = 0; s_x[r] = 0; }
    var s_n = 0;
    for (var j = g * words_per_group; j < (g + 1u) * words_per_group; j = j + 1u) {
      let ww = w_codes[wbase + j];
      let lo = int4_nibbles_as_bytes(ww, 0u);
      let hi = int4_nibbles_as_bytes(ww, 1u);
      s_n = s_n + dot4_int8(lo, ONES) + dot4_int8(hi, ONES);
      for (var r = 0u; r < INT_ROWS; r = r + 1u) {
        let x0 = x_codes[rows[r] * params.x_words + 2u * j];
        let x1 = x_codes[rows[r] * params.x_words + 2u * j + 1u];
        s_xn[r] = s_xn[r] + dot4_int8(x0, lo) + dot4_int8(x1, hi);
        s_x[r] = s_x[r] + dot4_int8(x0, ONES) + dot4_int8(x1, ONES);
      }
    }
    let ws = w_scale(col * params.groups_per_row + g);
    let gs = i32(params.group_size);
    for (var r = 0u; r < INT_ROWS; r = r + 1u) {
      // Σ (x − z)(nibble − 8) = Σ x·nib − 8·Σx − z·Σnib + 8·z·gs, all exact integers.
      let z = i32(x_zeros[rows[r]]);
      let acc = s_xn[r] - INT4_UNPACK_BIAS * s_x[r] - z * (s_n - INT4_UNPACK_BIAS * gs);
      sum[r] = sum[r] + ws * f32(acc);
    }
  }
  for (var r = 0u; r < INT_ROWS; r = r + 1u) {
    if (row0 + r < params.m) { write_y(row0 + r, col, x_scales[rows[r]] * sum[r]); }
  }
#else
  var acc: array<i32, INT_ROWS>;
  for (var r = 0u; r < INT_ROWS; r = r + 1u) { acc[r] = 0; }
  for (var j = 0u; j < params.w_words; j = j + 1u) {
    let ww = w_codes[wbase + j];
    for (var r = 0u; r < INT_ROWS; r = r + 1u) { acc[r] = acc[r] + dot4_int8(x_codes[rows[r] * params.x_words + j], ww); }
  }
  let ws = w_scale(col);
  for (var r = 0u; r < INT_ROWS; r = r + 1u) {
    if (row0 + r < params.m) { write_y(row0 + r, col, (f32(acc[r]) * x_scales[rows[r]]) * ws); }
  }
#endif
}

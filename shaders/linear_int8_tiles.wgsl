// Integer-path quantized linear on workgroup tiles, for GPUs with dot4I8Packed: a workgroup of 16×16 threads owns
// 64 tokens × 64 output channels, each thread 4 × 4 of them. K advances 32 codes (8 words) at a time through
// workgroup memory, laid out [word][group of 4 rows or columns] so one vec4<u32> load brings a word of 4 tokens (or 4
// channels) and every 2 loads feed 16 dot4I8Packed. linear_int8.wgsl reads each weight word from storage once per
// 4 tokens; here once per 64. Same sums as linear_int8.wgsl, so the same bits:
// W8A8: acc = Σ x_q·w_q in i32, y = (f32(acc)·x_scale)·w_scale + bias.
// W4A8 (W_INT4): per group g (a multiple of 32 k), Σ (x_q − x_zp)·(nibble − 8) exactly in i32, as
// Σ x_q·(nibble − 8) − x_zp·Σ (nibble − 8); y = x_scale·Σ_g w_scale[g]·acc_g + bias.
// Needs K (and the group size) a multiple of 32 (src/ops/quant-int-linear.ts checks).
#include "include/elem.wgsl"
#include "include/int_linear_io.wgsl"

const TILE: u32 = 64u;
const STEP_WORDS: u32 = 8u; // int8 code words per row per K step (32 k)
// [word j][row group g] = word j of rows 4g .. 4g + 3 (and the same for the weight's columns).
var<workgroup> x_tile: array<vec4<u32>, STEP_WORDS * TILE / 4u>;
var<workgroup> w_tile: array<vec4<u32>, STEP_WORDS * TILE / 4u>;

#if W_INT4
// Nibbles 4·half .. 4·half + 3 of an int4 word as the signed bytes nibble − 8: (nibble ^ 8) is nibble − 8 in 4-bit
// two's complement, and bit 3 of each byte times 0x1E sets that byte's high nibble (0x08·0x1E = 0xF0: no carry).
fn int4_word_as_signed_bytes(word: u32, half: u32) -> u32 {
  let b = int4_nibbles_as_bytes(word, half) ^ 0x08080808u;
  return b | ((b & 0x08080808u) * 0x1Eu);
}
#endif

// The K step starting at word `w0` of the x rows: x codes and the weight's codes as signed bytes, zero outside.
fn load_step(lid: u32, row0: u32, col0: u32, w0: u32) {
  for (var e = lid; e < TILE * STEP_WORDS; e = e + 256u) {
    let r = e / STEP_WORDS;
    let j = e % STEP_WORDS;
    let row = row0 + r;
    var xw = 0u;
    if (row < params.m) { xw = x_codes[row * params.x_words + w0 + j]; }
    x_tile[j * (TILE / 4u) + r / 4u][r % 4u] = xw;
    let col = col0 + r;
    var ww = 0u;
    if (col < params.n) {
#if W_INT4
      ww = int4_word_as_signed_bytes(w_codes[col * params.w_words + (w0 + j) / 2u], j % 2u);
#else
      ww = w_codes[col * params.w_words + w0 + j];
#endif
    }
    w_tile[j * (TILE / 4u) + r / 4u][r % 4u] = ww;
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let tx = lid3.x; // column group
  let ty = lid3.y; // row group
  let lid = ty * 16u + tx;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  var acc: array<vec4<i32>, 4>; // [row r][column c]
  for (var r = 0u; r < 4u; r = r + 1u) { acc[r] = vec4<i32>(0); }
#if W_INT4
  var sum: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r = r + 1u) { sum[r] = vec4<f32>(0.0); }
  var s_w = vec4<i32>(0); // Σ (nibble − 8) of the 4 columns over the current group
  var zero = vec4<i32>(0);
  for (var r = 0u; r < 4u; r = r + 1u) { zero[r] = i32(x_zeros[min(row0 + 4u * ty + r, params.m - 1u)]); }
  let steps_per_group = params.group_size / (4u * STEP_WORDS);
#endif
  let steps = params.x_words / STEP_WORDS;
  for (var step = 0u; step < steps; step = step + 1u) {
    load_step(lid, row0, col0, step * STEP_WORDS);
    workgroupBarrier();
    for (var j = 0u; j < STEP_WORDS; j = j + 1u) {
      let xa = x_tile[j * (TILE / 4u) + ty];
      let wb = w_tile[j * (TILE / 4u) + tx];
      for (var r = 0u; r < 4u; r = r + 1u) {
        acc[r] = acc[r] + vec4<i32>(dot4I8Packed(xa[r], wb.x), dot4I8Packed(xa[r], wb.y), dot4I8Packed(xa[r], wb.z), dot4I8Packed(xa[r], wb.w));
      }
#if W_INT4
      s_w = s_w + vec4<i32>(dot4I8Packed(wb.x, ONES), dot4I8Packed(wb.y, ONES), dot4I8Packed(wb.z, ONES), dot4I8Packed(wb.w, ONES));
#endif
    }
    workgroupBarrier();
#if W_INT4
    // End of a weight group: scale its exact sums, in group order as linear_int8.wgsl does.
    if ((step + 1u) % steps_per_group == 0u) {
      let g = (step + 1u) / steps_per_group - 1u;
      var ws = vec4<f32>(0.0);
      for (var c = 0u; c < 4u; c = c + 1u) { ws[c] = w_scale(min(col0 + 4u * tx + c, params.n - 1u) * params.groups_per_row + g); }
      for (var r = 0u; r < 4u; r = r + 1u) {
        sum[r] = sum[r] + ws * vec4<f32>(acc[r] - zero[r] * s_w);
        acc[r] = vec4<i32>(0);
      }
      s_w = vec4<i32>(0);
    }
#endif
  }
  for (var r = 0u; r < 4u; r = r + 1u) {
    let row = row0 + 4u * ty + r;
    if (row >= params.m) { break; }
    for (var c = 0u; c < 4u; c = c + 1u) {
      let col = col0 + 4u * tx + c;
      if (col >= params.n) { break; }
#if W_INT4
      write_y(row, col, x_scales[row] * sum[r][c]);
#else
      write_y(row, col, (f32(acc[r][c]) * x_scales[row]) * w_scale(col));
#endif
    }
  }
}

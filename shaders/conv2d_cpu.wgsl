// conv2d (NCHW, cross-correlation, zero padding) for CPU adapters (lavapipe), the conv sibling of
// matmul_cpu.wgsl: no workgroup memory, no barriers. lavapipe turns every storage load whose offset is
// not a constant into a per-lane scalar loop (~8 instructions per value per lane) while a subgroup
// broadcast from a constant lane is an extract + splat, so what decides speed is values loaded per
// lane per FMA. Hence:
// - the subgroup shares a block of ROWS output channels: for a chunk of 8 input channels, lane l
//   loads the KW weights of input channel c0 + l at kernel row kh for every one of the ROWS channels
//   (one weight row [Cout, Cin·KH·KW] is contiguous in K) and subgroupBroadcast hands them to all
//   lanes: weights cost 1/8 of a load per lane;
// - each lane owns PIX (4 or 8) consecutive output pixels of one output row and loads, per (input
//   channel, kh), the window of x they read, (PIX − 1)·STRIDE + KW values (6 for 3×3 stride 1 PIX 4),
//   which serves all KW taps: 16 rows × 3 taps × 4 pixels = 192 FMAs per 6 x loads + 6 weight loads
//   (3×3 s1, ROWS 16, PIX 4).
// ROWS is 8, 16 or 32 (ROWS_16 / ROWS_32 add blocks of 8 accumulators; 32 halves x loads per FMA again and
// compiles in about twice the time, so only large convs take it).
// Variants (defines): TAPS_3X3_S1, TAPS_3X3_S2, TAPS_1X1 (1×1 stride 1 pad 0: the host passes the
// image as one row of H·W pixels, so it is a plain matmul). Padding and edges read clamped (valid)
// addresses and select 0; no early return, every lane takes part in the broadcasts. Weights: float
// (f32/f16 like x), int8 per channel (scale applied once after the sum), int4 in groups (dequantized in
// registers), int4 with float zero points. Measured ratios: kernels-bench/RESULTS.md.
enable subgroups;
#include "include/elem.wgsl"

struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, pad: u32,
  k_total: u32, k_words: u32, scale_groups: u32, group_size: u32,
  // Groups of PIX output pixels per output row, and in all (batch · ho · wo_groups).
  wo_groups: u32, pixel_groups: u32,
  // 1: add bias[co]. A uniform, not a define: one pipeline serves convs with and without bias (lavapipe spends
  // 3–20 s compiling each variant; the branch is per output value, next to its store).
  bias_on: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#include "include/conv_weight.wgsl"
@group(0) @binding(5) var<storage, read_write> y: array<elem>;

const SG: u32 = 8u; // input channels per chunk = lanes of a subgroup
const KHW: u32 = KH * KW;

// One lane's weights of one output channel at one (input channel, kh): the KW taps.
#if TAPS_1X1
alias wtaps = f32;
#else
alias wtaps = vec3<f32>;
#endif

// A lane's outputs of one channel: its PIX pixels (PIX_8: pixels 0..3 in column 0, 4..7 in column 1).
#if PIX_8
alias Acc = mat2x4<f32>;
#else
alias Acc = vec4<f32>;
#endif
// acc0 .. acc{ROWS - 1}: include/cpu_acc_row.wgsl.

// First output channel of the workgroup's block.
var<private> co0: u32;
// The lane's x window: first input column, image offset; the current kernel row's offset within a
// channel (clamped) and whether it lies inside the image.
var<private> iw0: i32;
var<private> last_w: i32;
var<private> x_img: u32;
var<private> x_row: u32;
var<private> row_ok: bool;

// Weight (co, k) from a packed word of its row; int8 without its scale (applied after the sum).
#if WEIGHT_INT8
fn code_at(word: u32, k: u32) -> f32 { return f32(unpack_int8(word, k % INT8_PER_WORD)); }
fn word_of(k: u32) -> u32 { return k / INT8_PER_WORD; }
#endif
#if WEIGHT_INT4
fn code_at(word: u32, k: u32) -> f32 { return f32(unpack_int4(word, k % INT4_PER_WORD)); }
fn word_of(k: u32) -> u32 { return k / INT4_PER_WORD; }
// Dequantized int4 code of group g (W4A16 adds its float zero point).
fn dequant(code: f32, g: u32) -> f32 {
#if WEIGHT_ZERO_POINT
  return code * weight_scale(g) + weight_zero_point(g);
#else
  return code * weight_scale(g);
#endif
}
#endif

// The lane's KW weights of output channel co0 + row at K index k .. k + KW − 1 (0 where !ok).
fn lane_weights(row: u32, k: u32, ok: bool) -> wtaps {
  let co = min(co0 + row, params.cout - 1u);
#if WEIGHT_FLOAT
  let i = co * params.k_total + k;
#if TAPS_1X1
  let v = f32(weight[i]);
#else
  let v = vec3<f32>(f32(weight[i]), f32(weight[i + 1u]), f32(weight[i + 2u]));
#endif
#else
  let row_words = co * params.k_words;
#if TAPS_1X1
  var v = code_at(weight_codes[row_words + word_of(k)], k);
#if WEIGHT_INT4
  v = dequant(v, co * params.scale_groups + k / params.group_size);
#endif
#else
  // k + 1 shares its word (and int4 group) with k or with k + 2: two loads serve three taps.
  let wa = weight_codes[row_words + word_of(k)];
  let wc = weight_codes[row_words + word_of(k + 2u)];
  let wb = select(wa, wc, word_of(k + 1u) != word_of(k));
  var v = vec3<f32>(code_at(wa, k), code_at(wb, k + 1u), code_at(wc, k + 2u));
#if WEIGHT_INT4
  let ga = co * params.scale_groups + k / params.group_size;
  let gc = co * params.scale_groups + (k + 2u) / params.group_size;
  let sa = weight_scale(ga);
  let sc = weight_scale(gc);
  let sb = select(sa, sc, (k + 1u) / params.group_size != k / params.group_size);
#if WEIGHT_ZERO_POINT
  let za = weight_zero_point(ga);
  let zc = weight_zero_point(gc);
  let zb = select(za, zc, (k + 1u) / params.group_size != k / params.group_size);
  v = v * vec3<f32>(sa, sb, sc) + vec3<f32>(za, zb, zc);
#else
  v = v * vec3<f32>(sa, sb, sc);
#endif
#endif
#endif
#endif
  return select(wtaps(0.0), v, ok);
}

// Window values at input columns iw0 + j .. + 3 (and iw0 + j) of the row at offset b: clamped
// addresses, 0 outside the image.
fn win4(b: u32, j: i32) -> vec4<f32> {
  let t = vec4<i32>(iw0 + j) + vec4<i32>(0, 1, 2, 3);
  let c = vec4<u32>(clamp(t, vec4<i32>(0), vec4<i32>(last_w)));
  let ok = (t >= vec4<i32>(0)) & (t <= vec4<i32>(last_w)) & vec4<bool>(row_ok);
  return select(vec4<f32>(0.0), vec4<f32>(f32(x[b + c.x]), f32(x[b + c.y]), f32(x[b + c.z]), f32(x[b + c.w])), ok);
}
fn win1(b: u32, j: i32) -> f32 {
  let t = iw0 + j;
  return select(0.0, f32(x[b + u32(clamp(t, 0, last_w))]), t >= 0 && t <= last_w && row_ok);
}

fn fma_acc(t: Acc, w: f32, acc: Acc) -> Acc {
#if PIX_8
  return Acc(fma(t[0], vec4<f32>(w), acc[0]), fma(t[1], vec4<f32>(w), acc[1]));
#else
  return fma(t, vec4<f32>(w), acc);
#endif
}

// The lane's pixels' inputs for each tap kw of input channel ci at the current kernel row: pixel i
// reads window column STRIDE·i + kw, so each loaded value serves up to KW taps.
#if TAPS_1X1
alias Taps = Acc;
fn taps(ci: u32) -> Taps {
  let b = x_img + ci * params.h * params.w + x_row;
#if PIX_8
  return Acc(win4(b, 0), win4(b, 4));
#else
  return win4(b, 0);
#endif
}
fn tap_acc(t: Taps, w: wtaps, acc: Acc) -> Acc { return fma_acc(t, w, acc); }
#else
struct Taps { k0: Acc, k1: Acc, k2: Acc }
fn taps(ci: u32) -> Taps {
  let b = x_img + ci * params.h * params.w + x_row;
  let a = win4(b, 0);
#if TAPS_3X3_S1
#if PIX_8
  // Window columns 0 .. 9.
  let c = win4(b, 4);
  let e = vec2<f32>(win1(b, 8), win1(b, 9));
  return Taps(Acc(a, c), Acc(vec4<f32>(a.yzw, c.x), vec4<f32>(c.yzw, e.x)), Acc(vec4<f32>(a.zw, c.xy), vec4<f32>(c.zw, e)));
#else
  // Window columns 0 .. 5.
  let e = vec2<f32>(win1(b, 4), win1(b, 5));
  return Taps(a, vec4<f32>(a.yzw, e.x), vec4<f32>(a.zw, e));
#endif
#endif
#if TAPS_3X3_S2
  let c = win4(b, 4);
#if PIX_8
  // Window columns 0 .. 16.
  let d = win4(b, 8);
  let f = win4(b, 12);
  let e = win1(b, 16);
  return Taps(Acc(vec4<f32>(a.xz, c.xz), vec4<f32>(d.xz, f.xz)), Acc(vec4<f32>(a.yw, c.yw), vec4<f32>(d.yw, f.yw)),
              Acc(vec4<f32>(a.z, c.xz, d.x), vec4<f32>(d.z, f.xz, e)));
#else
  // Window columns 0 .. 8.
  let e = win1(b, 8);
  return Taps(vec4<f32>(a.xz, c.xz), vec4<f32>(a.yw, c.yw), vec4<f32>(a.z, c.xz, e));
#endif
#endif
}
// acc + the 3 taps' contributions, one dependent chain (each accumulator written once per step).
fn tap_acc(t: Taps, w: wtaps, acc: Acc) -> Acc {
  return fma_acc(t.k2, w.z, fma_acc(t.k1, w.y, fma_acc(t.k0, w.x, acc)));
}
#endif

// Rows 0..7 (and 8..15) at one input channel: w_r = that channel's taps for row r, broadcast.
fn step_lo(t: Taps, w0: wtaps, w1: wtaps, w2: wtaps, w3: wtaps, w4: wtaps, w5: wtaps, w6: wtaps, w7: wtaps) {
  acc0 = tap_acc(t, w0, acc0); acc1 = tap_acc(t, w1, acc1); acc2 = tap_acc(t, w2, acc2); acc3 = tap_acc(t, w3, acc3);
  acc4 = tap_acc(t, w4, acc4); acc5 = tap_acc(t, w5, acc5); acc6 = tap_acc(t, w6, acc6); acc7 = tap_acc(t, w7, acc7);
}
#if ROWS_16
fn step_hi(t: Taps, w0: wtaps, w1: wtaps, w2: wtaps, w3: wtaps, w4: wtaps, w5: wtaps, w6: wtaps, w7: wtaps) {
  acc8 = tap_acc(t, w0, acc8); acc9 = tap_acc(t, w1, acc9); acc10 = tap_acc(t, w2, acc10); acc11 = tap_acc(t, w3, acc11);
  acc12 = tap_acc(t, w4, acc12); acc13 = tap_acc(t, w5, acc13); acc14 = tap_acc(t, w6, acc14); acc15 = tap_acc(t, w7, acc15);
}
#endif
#if ROWS_32
// Rows 16..23 and 24..31 (ROWS_32: the subgroup shares 32 output channels, halving x loads per FMA again).
fn step_g2(t: Taps, w0: wtaps, w1: wtaps, w2: wtaps, w3: wtaps, w4: wtaps, w5: wtaps, w6: wtaps, w7: wtaps) {
  acc16 = tap_acc(t, w0, acc16); acc17 = tap_acc(t, w1, acc17); acc18 = tap_acc(t, w2, acc18); acc19 = tap_acc(t, w3, acc19);
  acc20 = tap_acc(t, w4, acc20); acc21 = tap_acc(t, w5, acc21); acc22 = tap_acc(t, w6, acc22); acc23 = tap_acc(t, w7, acc23);
}
fn step_g3(t: Taps, w0: wtaps, w1: wtaps, w2: wtaps, w3: wtaps, w4: wtaps, w5: wtaps, w6: wtaps, w7: wtaps) {
  acc24 = tap_acc(t, w0, acc24); acc25 = tap_acc(t, w1, acc25); acc26 = tap_acc(t, w2, acc26); acc27 = tap_acc(t, w3, acc27);
  acc28 = tap_acc(t, w4, acc28); acc29 = tap_acc(t, w5, acc29); acc30 = tap_acc(t, w6, acc30); acc31 = tap_acc(t, w7, acc31);
}
#endif

// Output channel co0 + row for the lane's pixels: int8 scale, bias; drops channels past cout and
// pixels past n_valid (0 for lanes past the last pixel group).
fn write4(i: u32, v: vec4<f32>, n_valid: u32) {
  if (n_valid > 0u) { y[i] = elem(v.x); }
  if (n_valid > 1u) { y[i + 1u] = elem(v.y); }
  if (n_valid > 2u) { y[i + 2u] = elem(v.z); }
  if (n_valid > 3u) { y[i + 3u] = elem(v.w); }
}

fn epilogue(co: u32, v: vec4<f32>) -> vec4<f32> {
  var s = v;
#if WEIGHT_INT8
  s = s * weight_scale(co);
#endif
  if (params.bias_on != 0u) { s = s + f32(bias[co]); }
  return s;
}

fn write_row(row: u32, v: Acc, y_base: u32, n_valid: u32) {
  let co = co0 + row;
  if (co >= params.cout) { return; }
  let i = y_base + co * params.ho * params.wo;
#if PIX_8
  write4(i, epilogue(co, v[0]), n_valid);
  write4(i + 4u, epilogue(co, v[1]), max(n_valid, 4u) - 4u);
#else
  write4(i, epilogue(co, v), n_valid);
#endif
}

#include "include/cpu_acc_row.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  co0 = wid.y * ROWS;
  // Lanes past the last pixel group compute the last one again and write nothing.
  let p = min(gid.x, params.pixel_groups - 1u);
  let ow0 = (p % params.wo_groups) * PIX;
  let oh = (p / params.wo_groups) % params.ho;
  let img = p / (params.wo_groups * params.ho);
  x_img = img * params.cin * params.h * params.w;
  iw0 = i32(ow0 * STRIDE) - i32(params.pad);
  last_w = i32(params.w) - 1;
  let ih0 = i32(oh * STRIDE) - i32(params.pad);
  let last_ci = params.cin - 1u;
  for (var c0 = 0u; c0 < params.cin; c0 = c0 + SG) {
    // Lane l brings input channel c0 + l's weights; channels past cin weigh 0 (their x is clamped).
    let ok = c0 + lane < params.cin;
    let kl = min(c0 + lane, last_ci) * KHW;
    for (var kh = 0u; kh < KH; kh = kh + 1u) {
      let ih = ih0 + i32(kh);
      row_ok = ih >= 0 && ih < i32(params.h);
      x_row = u32(clamp(ih, 0, i32(params.h) - 1)) * params.w;
      let k = kl + kh * KW;
      let w0 = lane_weights(0u, k, ok); let w1 = lane_weights(1u, k, ok); let w2 = lane_weights(2u, k, ok); let w3 = lane_weights(3u, k, ok);
      let w4 = lane_weights(4u, k, ok); let w5 = lane_weights(5u, k, ok); let w6 = lane_weights(6u, k, ok); let w7 = lane_weights(7u, k, ok);
#if ROWS_16
      let w8 = lane_weights(8u, k, ok); let w9 = lane_weights(9u, k, ok); let w10 = lane_weights(10u, k, ok); let w11 = lane_weights(11u, k, ok);
      let w12 = lane_weights(12u, k, ok); let w13 = lane_weights(13u, k, ok); let w14 = lane_weights(14u, k, ok); let w15 = lane_weights(15u, k, ok);
#endif
#if ROWS_32
      let w16 = lane_weights(16u, k, ok); let w17 = lane_weights(17u, k, ok); let w18 = lane_weights(18u, k, ok); let w19 = lane_weights(19u, k, ok);
      let w20 = lane_weights(20u, k, ok); let w21 = lane_weights(21u, k, ok); let w22 = lane_weights(22u, k, ok); let w23 = lane_weights(23u, k, ok);
      let w24 = lane_weights(24u, k, ok); let w25 = lane_weights(25u, k, ok); let w26 = lane_weights(26u, k, ok); let w27 = lane_weights(27u, k, ok);
      let w28 = lane_weights(28u, k, ok); let w29 = lane_weights(29u, k, ok); let w30 = lane_weights(30u, k, ok); let w31 = lane_weights(31u, k, ok);
#endif
      { let t = taps(min(c0 + 0u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 0u), subgroupBroadcast(w1, 0u), subgroupBroadcast(w2, 0u), subgroupBroadcast(w3, 0u), subgroupBroadcast(w4, 0u), subgroupBroadcast(w5, 0u), subgroupBroadcast(w6, 0u), subgroupBroadcast(w7, 0u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 0u), subgroupBroadcast(w9, 0u), subgroupBroadcast(w10, 0u), subgroupBroadcast(w11, 0u), subgroupBroadcast(w12, 0u), subgroupBroadcast(w13, 0u), subgroupBroadcast(w14, 0u), subgroupBroadcast(w15, 0u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 0u), subgroupBroadcast(w17, 0u), subgroupBroadcast(w18, 0u), subgroupBroadcast(w19, 0u), subgroupBroadcast(w20, 0u), subgroupBroadcast(w21, 0u), subgroupBroadcast(w22, 0u), subgroupBroadcast(w23, 0u));
        step_g3(t, subgroupBroadcast(w24, 0u), subgroupBroadcast(w25, 0u), subgroupBroadcast(w26, 0u), subgroupBroadcast(w27, 0u), subgroupBroadcast(w28, 0u), subgroupBroadcast(w29, 0u), subgroupBroadcast(w30, 0u), subgroupBroadcast(w31, 0u));
#endif
      }
      { let t = taps(min(c0 + 1u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 1u), subgroupBroadcast(w1, 1u), subgroupBroadcast(w2, 1u), subgroupBroadcast(w3, 1u), subgroupBroadcast(w4, 1u), subgroupBroadcast(w5, 1u), subgroupBroadcast(w6, 1u), subgroupBroadcast(w7, 1u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 1u), subgroupBroadcast(w9, 1u), subgroupBroadcast(w10, 1u), subgroupBroadcast(w11, 1u), subgroupBroadcast(w12, 1u), subgroupBroadcast(w13, 1u), subgroupBroadcast(w14, 1u), subgroupBroadcast(w15, 1u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 1u), subgroupBroadcast(w17, 1u), subgroupBroadcast(w18, 1u), subgroupBroadcast(w19, 1u), subgroupBroadcast(w20, 1u), subgroupBroadcast(w21, 1u), subgroupBroadcast(w22, 1u), subgroupBroadcast(w23, 1u));
        step_g3(t, subgroupBroadcast(w24, 1u), subgroupBroadcast(w25, 1u), subgroupBroadcast(w26, 1u), subgroupBroadcast(w27, 1u), subgroupBroadcast(w28, 1u), subgroupBroadcast(w29, 1u), subgroupBroadcast(w30, 1u), subgroupBroadcast(w31, 1u));
#endif
      }
      { let t = taps(min(c0 + 2u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 2u), subgroupBroadcast(w1, 2u), subgroupBroadcast(w2, 2u), subgroupBroadcast(w3, 2u), subgroupBroadcast(w4, 2u), subgroupBroadcast(w5, 2u), subgroupBroadcast(w6, 2u), subgroupBroadcast(w7, 2u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 2u), subgroupBroadcast(w9, 2u), subgroupBroadcast(w10, 2u), subgroupBroadcast(w11, 2u), subgroupBroadcast(w12, 2u), subgroupBroadcast(w13, 2u), subgroupBroadcast(w14, 2u), subgroupBroadcast(w15, 2u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 2u), subgroupBroadcast(w17, 2u), subgroupBroadcast(w18, 2u), subgroupBroadcast(w19, 2u), subgroupBroadcast(w20, 2u), subgroupBroadcast(w21, 2u), subgroupBroadcast(w22, 2u), subgroupBroadcast(w23, 2u));
        step_g3(t, subgroupBroadcast(w24, 2u), subgroupBroadcast(w25, 2u), subgroupBroadcast(w26, 2u), subgroupBroadcast(w27, 2u), subgroupBroadcast(w28, 2u), subgroupBroadcast(w29, 2u), subgroupBroadcast(w30, 2u), subgroupBroadcast(w31, 2u));
#endif
      }
      { let t = taps(min(c0 + 3u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 3u), subgroupBroadcast(w1, 3u), subgroupBroadcast(w2, 3u), subgroupBroadcast(w3, 3u), subgroupBroadcast(w4, 3u), subgroupBroadcast(w5, 3u), subgroupBroadcast(w6, 3u), subgroupBroadcast(w7, 3u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 3u), subgroupBroadcast(w9, 3u), subgroupBroadcast(w10, 3u), subgroupBroadcast(w11, 3u), subgroupBroadcast(w12, 3u), subgroupBroadcast(w13, 3u), subgroupBroadcast(w14, 3u), subgroupBroadcast(w15, 3u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 3u), subgroupBroadcast(w17, 3u), subgroupBroadcast(w18, 3u), subgroupBroadcast(w19, 3u), subgroupBroadcast(w20, 3u), subgroupBroadcast(w21, 3u), subgroupBroadcast(w22, 3u), subgroupBroadcast(w23, 3u));
        step_g3(t, subgroupBroadcast(w24, 3u), subgroupBroadcast(w25, 3u), subgroupBroadcast(w26, 3u), subgroupBroadcast(w27, 3u), subgroupBroadcast(w28, 3u), subgroupBroadcast(w29, 3u), subgroupBroadcast(w30, 3u), subgroupBroadcast(w31, 3u));
#endif
      }
      { let t = taps(min(c0 + 4u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 4u), subgroupBroadcast(w1, 4u), subgroupBroadcast(w2, 4u), subgroupBroadcast(w3, 4u), subgroupBroadcast(w4, 4u), subgroupBroadcast(w5, 4u), subgroupBroadcast(w6, 4u), subgroupBroadcast(w7, 4u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 4u), subgroupBroadcast(w9, 4u), subgroupBroadcast(w10, 4u), subgroupBroadcast(w11, 4u), subgroupBroadcast(w12, 4u), subgroupBroadcast(w13, 4u), subgroupBroadcast(w14, 4u), subgroupBroadcast(w15, 4u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 4u), subgroupBroadcast(w17, 4u), subgroupBroadcast(w18, 4u), subgroupBroadcast(w19, 4u), subgroupBroadcast(w20, 4u), subgroupBroadcast(w21, 4u), subgroupBroadcast(w22, 4u), subgroupBroadcast(w23, 4u));
        step_g3(t, subgroupBroadcast(w24, 4u), subgroupBroadcast(w25, 4u), subgroupBroadcast(w26, 4u), subgroupBroadcast(w27, 4u), subgroupBroadcast(w28, 4u), subgroupBroadcast(w29, 4u), subgroupBroadcast(w30, 4u), subgroupBroadcast(w31, 4u));
#endif
      }
      { let t = taps(min(c0 + 5u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 5u), subgroupBroadcast(w1, 5u), subgroupBroadcast(w2, 5u), subgroupBroadcast(w3, 5u), subgroupBroadcast(w4, 5u), subgroupBroadcast(w5, 5u), subgroupBroadcast(w6, 5u), subgroupBroadcast(w7, 5u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 5u), subgroupBroadcast(w9, 5u), subgroupBroadcast(w10, 5u), subgroupBroadcast(w11, 5u), subgroupBroadcast(w12, 5u), subgroupBroadcast(w13, 5u), subgroupBroadcast(w14, 5u), subgroupBroadcast(w15, 5u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 5u), subgroupBroadcast(w17, 5u), subgroupBroadcast(w18, 5u), subgroupBroadcast(w19, 5u), subgroupBroadcast(w20, 5u), subgroupBroadcast(w21, 5u), subgroupBroadcast(w22, 5u), subgroupBroadcast(w23, 5u));
        step_g3(t, subgroupBroadcast(w24, 5u), subgroupBroadcast(w25, 5u), subgroupBroadcast(w26, 5u), subgroupBroadcast(w27, 5u), subgroupBroadcast(w28, 5u), subgroupBroadcast(w29, 5u), subgroupBroadcast(w30, 5u), subgroupBroadcast(w31, 5u));
#endif
      }
      { let t = taps(min(c0 + 6u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 6u), subgroupBroadcast(w1, 6u), subgroupBroadcast(w2, 6u), subgroupBroadcast(w3, 6u), subgroupBroadcast(w4, 6u), subgroupBroadcast(w5, 6u), subgroupBroadcast(w6, 6u), subgroupBroadcast(w7, 6u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 6u), subgroupBroadcast(w9, 6u), subgroupBroadcast(w10, 6u), subgroupBroadcast(w11, 6u), subgroupBroadcast(w12, 6u), subgroupBroadcast(w13, 6u), subgroupBroadcast(w14, 6u), subgroupBroadcast(w15, 6u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 6u), subgroupBroadcast(w17, 6u), subgroupBroadcast(w18, 6u), subgroupBroadcast(w19, 6u), subgroupBroadcast(w20, 6u), subgroupBroadcast(w21, 6u), subgroupBroadcast(w22, 6u), subgroupBroadcast(w23, 6u));
        step_g3(t, subgroupBroadcast(w24, 6u), subgroupBroadcast(w25, 6u), subgroupBroadcast(w26, 6u), subgroupBroadcast(w27, 6u), subgroupBroadcast(w28, 6u), subgroupBroadcast(w29, 6u), subgroupBroadcast(w30, 6u), subgroupBroadcast(w31, 6u));
#endif
      }
      { let t = taps(min(c0 + 7u, last_ci));
        step_lo(t, subgroupBroadcast(w0, 7u), subgroupBroadcast(w1, 7u), subgroupBroadcast(w2, 7u), subgroupBroadcast(w3, 7u), subgroupBroadcast(w4, 7u), subgroupBroadcast(w5, 7u), subgroupBroadcast(w6, 7u), subgroupBroadcast(w7, 7u));
#if ROWS_16
        step_hi(t, subgroupBroadcast(w8, 7u), subgroupBroadcast(w9, 7u), subgroupBroadcast(w10, 7u), subgroupBroadcast(w11, 7u), subgroupBroadcast(w12, 7u), subgroupBroadcast(w13, 7u), subgroupBroadcast(w14, 7u), subgroupBroadcast(w15, 7u));
#endif
#if ROWS_32
        step_g2(t, subgroupBroadcast(w16, 7u), subgroupBroadcast(w17, 7u), subgroupBroadcast(w18, 7u), subgroupBroadcast(w19, 7u), subgroupBroadcast(w20, 7u), subgroupBroadcast(w21, 7u), subgroupBroadcast(w22, 7u), subgroupBroadcast(w23, 7u));
        step_g3(t, subgroupBroadcast(w24, 7u), subgroupBroadcast(w25, 7u), subgroupBroadcast(w26, 7u), subgroupBroadcast(w27, 7u), subgroupBroadcast(w28, 7u), subgroupBroadcast(w29, 7u), subgroupBroadcast(w30, 7u), subgroupBroadcast(w31, 7u));
#endif
      }
    }
  }
  let y_base = img * params.cout * params.ho * params.wo + oh * params.wo + ow0;
  let n_valid = select(0u, min(PIX, params.wo - ow0), gid.x < params.pixel_groups);
  // One write per row in a loop: the epilogue is emitted once, not ROWS times (lavapipe's compile time grows
  // steeply with the unrolled code).
  for (var i = 0u; i < ROWS; i = i + 1u) { write_row(i, acc_row(i), y_base, n_valid); }
}

// conv2d (NCHW, cross-correlation, zero padding) with no workgroup memory and no barriers, for CPU adapters without
// conv2d_cpu.wgsl's 8-lane subgroups (SwiftShader, where the implicit GEMM's two barriers per 16-k slab cost more
// than its arithmetic). A thread owns 4 output channels × 4 consecutive output pixels of one output row and reads x
// and the weights straight from storage: per tap, 4 x values and 4 weights feed 16 FMAs, as matmul_rows.wgsl does
// for linears. Weights in any format of include/conv_weight.wgsl; any KH × KW, stride and padding.
// WIN_3X3 (3×3 stride 1): 8 pixels per thread, and per (input channel, kernel row) the 10-value window they read
// serves all 3 taps: 10 x + 12 weight loads feed 96 FMAs instead of 24 loads 48 (a storage load costs about 11 FMAs
// on SwiftShader).
#include "include/elem.wgsl"

struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, stride: u32,
  pad: u32, k_total: u32, k_words: u32, scale_groups: u32,
  group_size: u32,
  // Output pixels in groups of 4 along a row: wo_groups = ⌈wo / 4⌉ per row, pixel_groups = batch·ho·wo_groups.
  wo_groups: u32, pixel_groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#include "include/conv_weight.wgsl"
@group(0) @binding(5) var<storage, read_write> y: array<elem>;

const KHW = KH * KW;

#if WIN_3X3
// x at input columns c .. c + 3 of the row at offset `row` (0 outside the image or where the row is outside).
fn win4(row: u32, c: i32, row_ok: bool) -> vec4<f32> {
  let t = vec4<i32>(c) + vec4<i32>(0, 1, 2, 3);
  let last_w = i32(params.w) - 1;
  let i = vec4<u32>(clamp(t, vec4<i32>(0), vec4<i32>(last_w))) + vec4<u32>(row);
  let inside = (t >= vec4<i32>(0)) & (t <= vec4<i32>(last_w)) & vec4<bool>(row_ok);
  return select(vec4<f32>(0.0), vec4<f32>(f32(x[i.x]), f32(x[i.y]), f32(x[i.z]), f32(x[i.w])), inside);
}

// acc + channel co's 3 taps at (ci, kh) over the thread's 8 pixels: t0..t2 = the pixels' inputs at kw = 0, 1, 2.
fn taps3(acc: mat2x4<f32>, co: u32, k: u32, t0: mat2x4<f32>, t1: mat2x4<f32>, t2: mat2x4<f32>) -> mat2x4<f32> {
  let w0 = vec4<f32>(read_weight(co, k));
  let w1 = vec4<f32>(read_weight(co, k + 1u));
  let w2 = vec4<f32>(read_weight(co, k + 2u));
  return mat2x4<f32>(fma(t2[0], w2, fma(t1[0], w1, fma(t0[0], w0, acc[0]))),
                     fma(t2[1], w2, fma(t1[1], w1, fma(t0[1], w0, acc[1]))));
}

// The 3×3 stride-1 body of main: the thread's 8 pixels (ow0 ..) of output row oh, channels co0 .. co0 + 3 (co: clamped).
fn conv3x3_window(img: u32, x_img: u32, co0: u32, co: vec4<u32>, oh: u32, ow0: u32) {
  let iw0 = i32(ow0) - i32(params.pad);
  let ih0 = i32(oh) - i32(params.pad);
  // acc_c = output channel co0 + c at pixels ow0 .. ow0 + 7 (columns 0 and 1: pixels 0-3 and 4-7).
  var acc0 = mat2x4<f32>();
  var acc1 = mat2x4<f32>();
  var acc2 = mat2x4<f32>();
  var acc3 = mat2x4<f32>();
  for (var ci = 0u; ci < params.cin; ci = ci + 1u) {
    for (var kh = 0u; kh < 3u; kh = kh + 1u) {
      let ih = ih0 + i32(kh);
      let row_ok = ih >= 0 && ih < i32(params.h);
      let row = x_img + (ci * params.h + u32(clamp(ih, 0, i32(params.h) - 1))) * params.w;
      // Window columns 0 .. 9; pixel j reads column j + kw.
      let a = win4(row, iw0, row_ok);
      let b = win4(row, iw0 + 4, row_ok);
      let e = win4(row, iw0 + 8, row_ok).xy;
      let t0 = mat2x4<f32>(a, b);
      let t1 = mat2x4<f32>(vec4<f32>(a.yzw, b.x), vec4<f32>(b.yzw, e.x));
      let t2 = mat2x4<f32>(vec4<f32>(a.zw, b.xy), vec4<f32>(b.zw, e));
      let k = ci * 9u + kh * 3u;
      acc0 = taps3(acc0, co.x, k, t0, t1, t2);
      acc1 = taps3(acc1, co.y, k, t0, t1, t2);
      acc2 = taps3(acc2, co.z, k, t0, t1, t2);
      acc3 = taps3(acc3, co.w, k, t0, t1, t2);
    }
  }
  let hw_out = params.ho * params.wo;
  write_channel(img, co0, oh, ow0, hw_out, acc0[0]);
  write_channel(img, co0, oh, ow0 + 4u, hw_out, acc0[1]);
  write_channel(img, co0 + 1u, oh, ow0, hw_out, acc1[0]);
  write_channel(img, co0 + 1u, oh, ow0 + 4u, hw_out, acc1[1]);
  write_channel(img, co0 + 2u, oh, ow0, hw_out, acc2[0]);
  write_channel(img, co0 + 2u, oh, ow0 + 4u, hw_out, acc2[1]);
  write_channel(img, co0 + 3u, oh, ow0, hw_out, acc3[0]);
  write_channel(img, co0 + 3u, oh, ow0 + 4u, hw_out, acc3[1]);
}
#endif

// Any kernel size, stride and padding: the thread's 4 pixels (ow0 ..) of output row oh, channels co0 .. co0 + 3.
fn conv_taps(img: u32, x_img: u32, co0: u32, co: vec4<u32>, oh: u32, ow0: u32) {
  let iw0 = vec4<i32>((vec4<u32>(ow0) + vec4<u32>(0u, 1u, 2u, 3u)) * params.stride) - i32(params.pad);
  let ih0 = i32(oh * params.stride) - i32(params.pad);
  let last_w = i32(params.w) - 1;
  // acc_c[j] = output (channel co0 + c, pixel ow0 + j).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var ci = 0u; ci < params.cin; ci = ci + 1u) {
    for (var kh = 0u; kh < KH; kh = kh + 1u) {
      let ih = ih0 + i32(kh);
      if (ih < 0 || ih >= i32(params.h)) { continue; }
      let row = x_img + (ci * params.h + u32(ih)) * params.w;
      for (var kw = 0u; kw < KW; kw = kw + 1u) {
        let iw = iw0 + vec4<i32>(i32(kw));
        let i = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(last_w))) + vec4<u32>(row);
        let inside = (iw >= vec4<i32>(0)) & (iw <= vec4<i32>(last_w));
        let xv = select(vec4<f32>(0.0), vec4<f32>(f32(x[i.x]), f32(x[i.y]), f32(x[i.z]), f32(x[i.w])), inside);
        let k = ci * KHW + kh * KW + kw;
        acc0 = fma(xv, vec4<f32>(read_weight(co.x, k)), acc0);
        acc1 = fma(xv, vec4<f32>(read_weight(co.y, k)), acc1);
        acc2 = fma(xv, vec4<f32>(read_weight(co.z, k)), acc2);
        acc3 = fma(xv, vec4<f32>(read_weight(co.w, k)), acc3);
      }
    }
  }
  let hw_out = params.ho * params.wo;
  write_channel(img, co0, oh, ow0, hw_out, acc0);
  write_channel(img, co0 + 1u, oh, ow0, hw_out, acc1);
  write_channel(img, co0 + 2u, oh, ow0, hw_out, acc2);
  write_channel(img, co0 + 3u, oh, ow0, hw_out, acc3);
}

#if WIN_3X3
const PIX: u32 = 8u;
#else
const PIX: u32 = 4u;
#endif

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= params.pixel_groups) { return; }
  let co0 = gid.y * 4u;
  let ow0 = (p % params.wo_groups) * PIX;
  let oh = (p / params.wo_groups) % params.ho;
  let img = p / (params.wo_groups * params.ho);
  let x_img = img * params.cin * params.h * params.w;
  // Channels past cout and pixels past wo compute clamped / zero-padded values that are never written.
  let co = min(vec4<u32>(co0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.cout - 1u));
#if WIN_3X3
  conv3x3_window(img, x_img, co0, co, oh, ow0);
#else
  conv_taps(img, x_img, co0, co, oh, ow0);
#endif
}

// Channel c's 4 pixels (those inside the output row), plus its bias.
fn write_channel(img: u32, c: u32, oh: u32, ow0: u32, hw_out: u32, v: vec4<f32>) {
  if (c >= params.cout) { return; }
#if HAS_BIAS
  let out = v + f32(bias[c]);
#else
  let out = v;
#endif
  let base = (img * params.cout + c) * hw_out + oh * params.wo + ow0;
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (ow0 + j < params.wo) { y[base + j] = elem(out[j]); }
  }
}

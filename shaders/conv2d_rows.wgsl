// conv2d (NCHW, cross-correlation, zero padding) with no workgroup memory and no barriers, for CPU adapters without
// conv2d_cpu.wgsl's 8-lane subgroups (SwiftShader, where the implicit GEMM's two barriers per 16-k slab cost more
// than its arithmetic). A thread owns 4 output channels × 4 consecutive output pixels of one output row and reads x
// and the weights straight from storage: per tap, 4 x values and 4 weights feed 16 FMAs, as matmul_rows.wgsl does
// for linears. Weights in any format of include/conv_weight.wgsl; any KH × KW, stride and padding.
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

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= params.pixel_groups) { return; }
  let co0 = gid.y * 4u;
  let ow0 = (p % params.wo_groups) * 4u;
  let oh = (p / params.wo_groups) % params.ho;
  let img = p / (params.wo_groups * params.ho);
  let x_img = img * params.cin * params.h * params.w;
  // Channels past cout and pixels past wo compute clamped / zero-padded values that are never written.
  let co = min(vec4<u32>(co0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.cout - 1u));
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

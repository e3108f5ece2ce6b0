// CLIPImageProcessor on RGBA8 images (one pixel per u32, R in the low byte): Pillow's separable bicubic
// resize, center crop, rescale and normalize → pixel_values [N, 3, crop, crop] f32 (CHW).
// Bit-exact with Pillow: the host computes Pillow's fixed-point tap weights (double precision, which WGSL
// lacks) for the cropped rows and columns only; each pass sums in i32 and rounds/clips to a byte, as Pillow
// does, so the vertical pass sees the same bytes Pillow's intermediate image holds. Rescale + normalize
// is a per-channel 256-entry table (host-computed with the processor's float roundings).
#include "include/grid.wgsl"

struct Params {
  count: u32,     // crop * crop * n output pixels
  in_h: u32,
  in_w: u32,
  crop: u32,
  kx: u32,        // taps per output column (padded with zero weights)
  ky: u32,        // taps per output row
  y_table: u32,   // offset of the row table in `taps`
  out_base: u32,  // first batch row of `pixels` this call writes
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rgba: array<u32>;
// Per cropped output column, then per cropped output row: [first input index, k weights...].
@group(0) @binding(2) var<storage, read> taps: array<i32>;
// 3 × 256 normalized values: lut[c * 256 + byte] = (float32(byte / 255) - mean[c]) / std[c].
@group(0) @binding(3) var<storage, read> lut: array<f32>;
@group(0) @binding(4) var<storage, read_write> pixels: array<f32>;

// Pillow's 8-bit precision: weights are scaled by 2^22, sums start at 2^21 (round half up).
const PRECISION_BITS: u32 = 22u;
const HALF: i32 = 1 << 21;

fn clip8(ss: vec3<i32>) -> vec3<i32> {
  return clamp(ss >> vec3<u32>(PRECISION_BITS), vec3<i32>(0), vec3<i32>(255));
}

fn unpack_rgb(p: u32) -> vec3<i32> {
  return vec3<i32>(i32(p & 0xffu), i32((p >> 8u) & 0xffu), i32((p >> 16u) & 0xffu));
}

// Horizontal pass for one input row at one cropped output column: the byte Pillow's intermediate holds.
fn row_pass(base: u32, x: u32) -> vec3<i32> {
  let t = x * (params.kx + 1u);
  let start = u32(taps[t]);
  var ss = vec3<i32>(HALF);
  for (var i = 0u; i < params.kx; i++) {
    let w = taps[t + 1u + i];
    // Padded taps have weight 0; clamping keeps their read in bounds.
    let sx = min(start + i, params.in_w - 1u);
    ss += unpack_rgb(rgba[base + sx]) * w;
  }
  return clip8(ss);
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let plane = params.crop * params.crop;
  let n = i / plane;
  let p = i % plane;
  let y = p / params.crop;
  let x = p % params.crop;
  let t = params.y_table + y * (params.ky + 1u);
  let start = u32(taps[t]);
  let image = n * params.in_h * params.in_w;
  var ss = vec3<i32>(HALF);
  for (var j = 0u; j < params.ky; j++) {
    let w = taps[t + 1u + j];
    let sy = min(start + j, params.in_h - 1u);
    ss += row_pass(image + sy * params.in_w, x) * w;
  }
  let v = clip8(ss);
  let out = (params.out_base + n) * 3u * plane + p;
  pixels[out] = lut[v.x];
  pixels[out + plane] = lut[256 + v.y];
  pixels[out + 2u * plane] = lut[512 + v.z];
}

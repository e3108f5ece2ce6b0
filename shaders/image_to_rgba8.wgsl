// VAE output (NCHW, ~[-1, 1]) to RGBA8 pixels packed one per u32, as diffusers converts images:
// v = clamp(x/2 + 0.5, 0, 1), byte = round(v·255) (round half to even, like numpy/torch), alpha 255.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { pixels: u32, batch: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> rgba: array<u32>;

fn to_byte(v: f32) -> u32 {
  return u32(round(clamp(v / 2.0 + 0.5, 0.0, 1.0) * 255.0));
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.pixels * params.batch) { return; }
  let n = i / params.pixels;
  let p = i % params.pixels;
  let base = n * 3u * params.pixels + p;
  let r = to_byte(f32(x[base]));
  let g = to_byte(f32(x[base + params.pixels]));
  let b = to_byte(f32(x[base + 2u * params.pixels]));
  rgba[i] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}

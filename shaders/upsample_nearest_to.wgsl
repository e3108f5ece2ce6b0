// Nearest resize of NCHW planes to any size, PyTorch "nearest" (not "nearest-exact"):
// source index = floor(dst · in / out), computed in integers so no float rounding can shift it.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, h: u32, w: u32, oh: u32, ow: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let j = i % params.ow;
  let r = (i / params.ow) % params.oh;
  let p = i / (params.ow * params.oh);
  let sr = (r * params.h) / params.oh;
  let sc = (j * params.w) / params.ow;
  y[i] = x[(p * params.h + sr) * params.w + sc];
}

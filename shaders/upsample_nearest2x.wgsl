// Nearest-neighbour 2x upsampling of NCHW planes: y[p, i, j] = x[p, i/2, j/2] (p = n·C + c).
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, h: u32, w: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let ow = params.w * 2u;
  let oh = params.h * 2u;
  let j = i % ow;
  let r = (i / ow) % oh;
  let p = i / (ow * oh);
  y[i] = x[(p * params.h + r / 2u) * params.w + j / 2u];
}

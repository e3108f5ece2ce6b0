// Channel concat of NCHW tensors: y = [a, b] along C (the UNet's skip connections).
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, ca: u32, cb: u32, hw: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<elem>;
@group(0) @binding(2) var<storage, read> b: array<elem>;
@group(0) @binding(3) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let c_total = params.ca + params.cb;
  let s = i % params.hw;
  let c = (i / params.hw) % c_total;
  let n = i / (params.hw * c_total);
  if (c < params.ca) {
    y[i] = a[(n * params.ca + c) * params.hw + s];
  } else {
    y[i] = b[(n * params.cb + (c - params.ca)) * params.hw + s];
  }
}

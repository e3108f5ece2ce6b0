// y = act(x), elementwise; one ACT_* define picks the function.
#include "include/elem.wgsl"
#include "include/grid.wgsl"
#include "include/activation_fn.wgsl"

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  y[i] = elem(apply_activation(f32(x[i])));
}

// y = x * alpha + beta (alpha, beta in f32 uniforms).
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  y[i] = elem(fma(f32(x[i]), params.alpha, params.beta));
}

// Softmax over the last dim; one workgroup per row, any row length. Three passes over the row
// (max, sum of exp, write) keep it exact-ish in f32 without a second buffer.
#include "include/elem.wgsl"
#include "include/workgroup_reduce.wgsl"

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  // Whole workgroups leave together so barriers stay uniform.
  if (row >= params.rows) { return; }
  let lid = lid3.x;
  let base = row * params.cols;
  var m = -3.4028234e38; // lowest finite f32
  for (var c = lid; c < params.cols; c = c + WG_SIZE) { m = max(m, f32(x[base + c])); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var c = lid; c < params.cols; c = c + WG_SIZE) { s = s + exp(f32(x[base + c]) - m); }
  s = reduce_sum(s, lid);
  let inv = 1.0 / s;
  for (var c = lid; c < params.cols; c = c + WG_SIZE) { y[base + c] = elem(exp(f32(x[base + c]) - m) * inv); }
}

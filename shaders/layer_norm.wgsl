// LayerNorm over the last dim: one workgroup per row, two f32 passes (mean, then Σ(x−mean)²),
// then the write; AFFINE adds gamma/beta (without it the shader declares neither binding).
#include "include/elem.wgsl"
#include "include/workgroup_reduce.wgsl"

struct Params { rows: u32, cols: u32, eps: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;
#if AFFINE
@group(0) @binding(3) var<storage, read> gamma: array<elem>;
@group(0) @binding(4) var<storage, read> beta: array<elem>;
#endif

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  // Whole workgroups leave together so barriers stay uniform.
  if (row >= params.rows) { return; }
  let lid = lid3.x;
  let base = row * params.cols;
  var s = 0.0;
  for (var c = lid; c < params.cols; c = c + WG_SIZE) { s = s + f32(x[base + c]); }
  let mean = reduce_sum(s, lid) / f32(params.cols);
  var q = 0.0;
  for (var c = lid; c < params.cols; c = c + WG_SIZE) {
    let d = f32(x[base + c]) - mean;
    q = q + d * d;
  }
  let rstd = inverseSqrt(reduce_sum(q, lid) / f32(params.cols) + params.eps);
  for (var c = lid; c < params.cols; c = c + WG_SIZE) {
    var v = (f32(x[base + c]) - mean) * rstd;
#if AFFINE
    v = v * f32(gamma[c]) + f32(beta[c]);
#endif
    y[base + c] = elem(v);
  }
}

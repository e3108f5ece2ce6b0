// LayerNorm over the last dim: one workgroup per row, two f32 passes (mean, then Σ(x−mean)²),
// then the write; AFFINE adds gamma/beta (without it the shader declares neither binding).
// SERIAL_ROWS (CPU adapters): one thread per row instead, WG_SIZE rows per workgroup, so no workgroup memory and no
// barriers (on lavapipe and SwiftShader the 256-thread tree's 18 barriers per row made layer norm a quarter to a
// third of the toy UNet's GPU time).
#include "include/elem.wgsl"
#if SERIAL_ROWS
const ROW_THREADS: u32 = 1u;
fn reduce_sum(v: f32, lid: u32) -> f32 { return v; }
#else
#include "include/workgroup_reduce.wgsl"
const ROW_THREADS: u32 = WG_SIZE;
#endif

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
#if SERIAL_ROWS
  let row = (wid.x + wid.y * nwg.x) * WG_SIZE + lid3.x;
  if (row >= params.rows) { return; }
  let lid = 0u;
#else
  let row = wid.x + wid.y * nwg.x;
  // Whole workgroups leave together so barriers stay uniform.
  if (row >= params.rows) { return; }
  let lid = lid3.x;
#endif
  let base = row * params.cols;
  var s = 0.0;
  for (var c = lid; c < params.cols; c = c + ROW_THREADS) { s = s + f32(x[base + c]); }
  let mean = reduce_sum(s, lid) / f32(params.cols);
  var q = 0.0;
  for (var c = lid; c < params.cols; c = c + ROW_THREADS) {
    let d = f32(x[base + c]) - mean;
    q = q + d * d;
  }
  let rstd = inverseSqrt(reduce_sum(q, lid) / f32(params.cols) + params.eps);
  for (var c = lid; c < params.cols; c = c + ROW_THREADS) {
    var v = (f32(x[base + c]) - mean) * rstd;
#if AFFINE
    v = v * f32(gamma[c]) + f32(beta[c]);
#endif
    y[base + c] = elem(v);
  }
}

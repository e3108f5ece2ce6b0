// GroupNorm over NCHW: one workgroup per (n, group); the group's C/G·H·W values are contiguous.
// Two passes in f32 (mean, then Σ(x−mean)²) avoid the cancellation of E[x²]−E[x]²; a third writes
// (x−mean)·rstd·gamma[c] + beta[c], optionally followed by SiLU (SILU define).
#include "include/elem.wgsl"
#include "include/workgroup_reduce.wgsl"
#include "include/math.wgsl"

struct Params { groups: u32, channels_per_group: u32, hw: u32, eps: f32 }

/** Values per thread summed before they join the thread's total (see the sums below). */
const SUM_BLOCK: u32 = 512u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read> gamma: array<elem>;
@group(0) @binding(3) var<storage, read> beta: array<elem>;
@group(0) @binding(4) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  // wid.x = group, wid.y = batch index.
  let group_len = params.channels_per_group * params.hw;
  let base = (wid.y * params.groups + wid.x) * group_len;
  // Each thread sums in blocks of SUM_BLOCK of its values, then adds the block sums: a plain running f32 sum over the
  // ~1M values per thread of a VAE group at 1024² on a CPU adapter (8 threads per group) lost 4e-4 relative.
  let stride = WG_SIZE * SUM_BLOCK;
  var s = 0.0;
  for (var start = lid; start < group_len; start = start + stride) {
    var part = 0.0;
    let end = min(start + stride, group_len);
    for (var i = start; i < end; i = i + WG_SIZE) { part = part + f32(x[base + i]); }
    s = s + part;
  }
  let mean = reduce_sum(s, lid) / f32(group_len);
  var q = 0.0;
  for (var start = lid; start < group_len; start = start + stride) {
    var part = 0.0;
    let end = min(start + stride, group_len);
    for (var i = start; i < end; i = i + WG_SIZE) {
      let d = f32(x[base + i]) - mean;
      part = part + d * d;
    }
    q = q + part;
  }
  let rstd = inverseSqrt(reduce_sum(q, lid) / f32(group_len) + params.eps);
  let c0 = wid.x * params.channels_per_group;
  for (var i = lid; i < group_len; i = i + WG_SIZE) {
    let c = c0 + i / params.hw;
    var v = (f32(x[base + i]) - mean) * rstd * f32(gamma[c]) + f32(beta[c]);
#if SILU
    v = v * sigmoid_f32(v);
#endif
    y[base + i] = elem(v);
  }
}

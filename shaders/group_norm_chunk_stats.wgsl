// First pass of GroupNorm split over workgroups (GPUs, where one workgroup per group leaves most of the GPU idle):
// workgroup (chunk, group, n) takes `chunk_len` contiguous values of its group and writes their mean and
// M2 = Σ(x − mean)², two passes in f32 as group_norm.wgsl does for a whole group. group_norm_apply.wgsl merges a
// group's chunks (Chan's parallel update) and normalizes.
#include "include/elem.wgsl"
#include "include/workgroup_reduce.wgsl"

struct Params { groups: u32, group_len: u32, chunk_len: u32, chunks: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
// [N, groups, chunks] × (mean, M2).
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let group_index = wid.z * params.groups + wid.y;
  let start = group_index * params.group_len + wid.x * params.chunk_len;
  let len = min(params.chunk_len, params.group_len - wid.x * params.chunk_len);
  var s = 0.0;
  for (var i = lid; i < len; i = i + WG_SIZE) { s = s + f32(x[start + i]); }
  let mean = reduce_sum(s, lid) / f32(len);
  var q = 0.0;
  for (var i = lid; i < len; i = i + WG_SIZE) {
    let d = f32(x[start + i]) - mean;
    q = q + d * d;
  }
  let m2 = reduce_sum(q, lid);
  if (lid == 0u) {
    let at = 2u * (group_index * params.chunks + wid.x);
    stats[at] = mean;
    stats[at + 1u] = m2;
  }
}

// Second pass of GroupNorm split over workgroups (see group_norm_chunk_stats.wgsl): workgroup (chunk, group, n) merges
// its group's chunk statistics in chunk order (Chan et al.'s pairwise update of count, mean and M2; every thread the
// same way, so every workgroup of a group gets the same bits), then writes its chunk:
// (x − mean)·rstd·gamma[c] + beta[c], optionally followed by SiLU (SILU define).
#include "include/elem.wgsl"
#include "include/math.wgsl"

struct Params { groups: u32, group_len: u32, chunk_len: u32, chunks: u32, channels_per_group: u32, hw: u32, eps: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<elem>;
@group(0) @binding(4) var<storage, read> beta: array<elem>;
@group(0) @binding(5) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let group_index = wid.z * params.groups + wid.y;
  var count = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var c = 0u; c < params.chunks; c = c + 1u) {
    let at = 2u * (group_index * params.chunks + c);
    let n_c = f32(min(params.chunk_len, params.group_len - c * params.chunk_len));
    let total = count + n_c;
    let delta = stats[at] - mean;
    mean = mean + delta * (n_c / total);
    m2 = m2 + stats[at + 1u] + delta * delta * (count * n_c / total);
    count = total;
  }
  let rstd = inverseSqrt(m2 / count + params.eps);
  let offset = wid.x * params.chunk_len;
  let start = group_index * params.group_len + offset;
  let len = min(params.chunk_len, params.group_len - offset);
  let c0 = wid.y * params.channels_per_group;
  for (var i = lid; i < len; i = i + WG_SIZE) {
    let c = c0 + (offset + i) / params.hw;
    var v = (f32(x[start + i]) - mean) * rstd * f32(gamma[c]) + f32(beta[c]);
#if SILU
    v = v * sigmoid_f32(v);
#endif
    y[start + i] = elem(v);
  }
}

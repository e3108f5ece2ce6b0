// The second pass of a split-K kernel (src/ops/split-k.ts): y[i] = act(Σ_z partial[z·count + i] + bias[channel of i])
// + residual[i], the matmul epilogue's order. A split-K kernel sums each of its `slices` ranges of K into its own f32
// copy of the output, so the output's workgroups can be multiplied when there are too few of them to fill a GPU;
// this pass adds the copies in slice order (deterministic) and applies what the first pass left out. Channel of
// element i: (i / inner) % channels (NCHW conv outputs: inner = H·W; linears: inner = 1, channels = N).
#include "include/elem.wgsl"
#include "include/grid.wgsl"
#include "include/activation_fn.wgsl"

struct Params { count: u32, slices: u32, inner: u32, channels: u32, act: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
#if HAS_BIAS
@group(0) @binding(2) var<storage, read> bias: array<elem>;
#endif
#if HAS_RESIDUAL
@group(0) @binding(4) var<storage, read> residual: array<elem>;
#endif
@group(0) @binding(3) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  var s = partial[i];
  for (var z = 1u; z < params.slices; z = z + 1u) { s = s + partial[z * params.count + i]; }
#if HAS_BIAS
  s = s + f32(bias[(i / params.inner) % params.channels]);
#endif
  if (params.act != 0u) { s = apply_activation_id(s, params.act); }
#if HAS_RESIDUAL
  s = s + f32(residual[i]);
#endif
  y[i] = elem(s);
}

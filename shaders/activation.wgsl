// y = act(x), elementwise. ACT picks the function (0 silu, 1 gelu_erf, 2 gelu_tanh, 3 quick_gelu, 4 sigmoid).
#include "include/elem.wgsl"
#include "include/grid.wgsl"
#include "include/math.wgsl"

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

fn act(v: f32) -> f32 {
#if ACT_SILU
  return v * sigmoid_f32(v);
#endif
#if ACT_GELU_ERF
  return 0.5 * v * (1.0 + erf_f32(v * 0.70710678118654752));
#endif
#if ACT_GELU_TANH
  return 0.5 * v * (1.0 + tanh_f32(0.79788456080286536 * (v + 0.044715 * v * v * v)));
#endif
#if ACT_QUICK_GELU
  return v * sigmoid_f32(1.702 * v);
#endif
#if ACT_SIGMOID
  return sigmoid_f32(v);
#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  y[i] = elem(act(f32(x[i])));
}

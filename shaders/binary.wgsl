// y = a (op) b with numpy broadcasting over up to 4 dims: strides of broadcast dims are 0.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params {
  count: u32,
  out_shape: vec4<u32>,
  a_strides: vec4<u32>,
  b_strides: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<elem>;
@group(0) @binding(2) var<storage, read> b: array<elem>;
@group(0) @binding(3) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let s = params.out_shape;
  let i3 = i % s.w;
  let i2 = (i / s.w) % s.z;
  let i1 = (i / (s.w * s.z)) % s.y;
  let i0 = i / (s.w * s.z * s.y);
  let idx = vec4<u32>(i0, i1, i2, i3);
  let va = f32(a[dot(idx, params.a_strides)]);
  let vb = f32(b[dot(idx, params.b_strides)]);
#if OP_ADD
  y[i] = elem(va + vb);
#endif
#if OP_MUL
  y[i] = elem(va * vb);
#endif
}

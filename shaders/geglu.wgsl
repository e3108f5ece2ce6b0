// GEGLU: y[r, j] = h[r, j] · gelu_erf(h[r, dout + j]) for h [rows, 2·dout] (diffusers chunk order:
// hidden first, gate second).
#include "include/elem.wgsl"
#include "include/grid.wgsl"
#include "include/math.wgsl"

struct Params { count: u32, dout: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> h: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  let row = i / params.dout;
  let j = i - row * params.dout;
  let src = row * 2u * params.dout + j;
  let hidden = f32(h[src]);
  let gate = f32(h[src + params.dout]);
  y[i] = elem(hidden * 0.5 * gate * (1.0 + erf_f32(gate * 0.70710678118654752)));
}

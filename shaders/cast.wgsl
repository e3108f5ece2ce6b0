// y = x converted between float storage types (f32 ↔ f16, or a copy): one rounding, to nearest even.
// Only built with a shader-f16 device (one side is always f16 in a real conversion).
enable f16;
#include "include/grid.wgsl"

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<SRC_ELEM>;
@group(0) @binding(2) var<storage, read_write> y: array<DST_ELEM>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  // Through f32: exact for f16 → f32, a single rounding for f32 → f16.
  y[i] = DST_ELEM(f32(x[i]));
}

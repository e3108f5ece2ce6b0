// y[n, :] = table[index[n], :] — token-embedding lookup and row selection (CLIP's pooled EOS row).
// Indices are checked on the host; a bad index here reads row 0 rather than out of bounds.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { rows: u32, width: u32, table_rows: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: array<elem>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  let n = i / params.width;
  let c = i % params.width;
  var r = u32(max(index[n], 0));
  if (r >= params.table_rows) { r = 0u; }
  y[i] = table[r * params.width + c];
}

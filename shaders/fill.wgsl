// Fills a buffer with one 32-bit pattern (NaN poisoning of fresh outputs in tests). Encoded like any
// kernel so it stays in order with the dispatches around it (a queue.writeBuffer would run before
// dispatches still waiting in the unsubmitted encoder).
#include "include/grid.wgsl"

struct Params { words: u32, pattern: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.words) { return; }
  y[i] = params.pattern;
}

// Batched 2-D transpose y[b, c, r] = x[b, r, c] (NCHW planes <-> [B, HW, C] token rows for the
// UNet's transformers). Each thread writes one output element, so writes are coalesced.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  // Output is [B, cols, rows]: i = (b·cols + c)·rows + r.
  let r = i % params.rows;
  let c = (i / params.rows) % params.cols;
  let b = i / (params.rows * params.cols);
  y[i] = x[(b * params.rows + r) * params.cols + c];
}

// Tree reductions over one workgroup of WG_SIZE (a power of two) threads, through shared memory.
// Every thread of the workgroup must call them (they contain barriers); all get the result.
var<workgroup> reduce_scratch: array<f32, WG_SIZE>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
  reduce_scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { reduce_scratch[lid] = reduce_scratch[lid] + reduce_scratch[lid + s]; }
    workgroupBarrier();
  }
  let r = reduce_scratch[0];
  workgroupBarrier();
  return r;
}

fn reduce_max(v: f32, lid: u32) -> f32 {
  reduce_scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { reduce_scratch[lid] = max(reduce_scratch[lid], reduce_scratch[lid + s]); }
    workgroupBarrier();
  }
  let r = reduce_scratch[0];
  workgroupBarrier();
  return r;
}

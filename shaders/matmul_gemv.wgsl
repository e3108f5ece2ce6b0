// Matrix-vector fast path for few rows (M small, e.g. one token): one thread per output element
// streams its column of B over all K; no workgroup memory and no barriers. Same hooks as matmul.wgsl.
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = gid.x;
  let row = wid.y;
  let batch = wid.z;
  if (col >= params.n) { return; }
  // Four partial sums break the add dependency chain.
  var s = vec4<f32>(0.0);
  let k4 = params.k & ~3u;
  for (var k = 0u; k < k4; k = k + 4u) {
    let av = vec4<f32>(read_a_unchecked(batch, row, k), read_a_unchecked(batch, row, k + 1u),
                       read_a_unchecked(batch, row, k + 2u), read_a_unchecked(batch, row, k + 3u));
    let bv = vec4<f32>(read_b_unchecked(batch, k, col), read_b_unchecked(batch, k + 1u, col),
                       read_b_unchecked(batch, k + 2u, col), read_b_unchecked(batch, k + 3u, col));
    s = fma(av, bv, s);
  }
  var tail = 0.0;
  for (var k = k4; k < params.k; k = k + 1u) { tail = fma(read_a_unchecked(batch, row, k), read_b_unchecked(batch, k, col), tail); }
  write_y(batch, row, col, (s.x + s.y) + (s.z + s.w) + tail);
}

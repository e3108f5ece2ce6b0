// Linear fast path for CPU drivers (lavapipe, measured ~3× the tiled loop): no workgroup memory and
// no barriers. A thread owns 4 rows × 4 columns of y and walks K four at a time with vec4 loads
// (VEC4_AB, K a multiple of 4, B stored [N, K]): 8 vec4 loads feed 16 vec4 FMAs. Lavapipe pays per
// value loaded and per barrier, so this beats sharing tiles through workgroup memory. The 16 partial
// sums stay split over the 4 k-lanes until the end. Same write hook as matmul.wgsl.
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = wid.y * 4u;
  let col0 = gid.x * 4u;
  let batch = wid.z;
  // Rows past m and columns past n load clamped (valid) addresses; write_y drops their results.
  let last_row = params.m - 1u;
  let last_col = params.n - 1u;
  let k4 = params.k / 4u;
  let b_base = batch * params.b_batch_stride / 4u;
  let b0 = b_base + min(col0, last_col) * k4;
  let b1 = b_base + min(col0 + 1u, last_col) * k4;
  let b2 = b_base + min(col0 + 2u, last_col) * k4;
  let b3 = b_base + min(col0 + 3u, last_col) * k4;
  let a_base = batch * params.a_batch_stride / 4u;
  let a0 = a_base + min(row0, last_row) * k4;
  let a1 = a_base + min(row0 + 1u, last_row) * k4;
  let a2 = a_base + min(row0 + 2u, last_row) * k4;
  let a3 = a_base + min(row0 + 3u, last_row) * k4;
  // s[4·r + c] = partial sums of y[row0 + r, col0 + c], one per k mod 4.
  var s: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i = i + 1u) { s[i] = vec4<f32>(0.0); }
  for (var q = 0u; q < k4; q = q + 1u) {
    let w0 = vec4<f32>(b[b0 + q]);
    let w1 = vec4<f32>(b[b1 + q]);
    let w2 = vec4<f32>(b[b2 + q]);
    let w3 = vec4<f32>(b[b3 + q]);
    let x0 = vec4<f32>(a[a0 + q]);
    let x1 = vec4<f32>(a[a1 + q]);
    let x2 = vec4<f32>(a[a2 + q]);
    let x3 = vec4<f32>(a[a3 + q]);
    s[0] = fma(x0, w0, s[0]); s[1] = fma(x0, w1, s[1]); s[2] = fma(x0, w2, s[2]); s[3] = fma(x0, w3, s[3]);
    s[4] = fma(x1, w0, s[4]); s[5] = fma(x1, w1, s[5]); s[6] = fma(x1, w2, s[6]); s[7] = fma(x1, w3, s[7]);
    s[8] = fma(x2, w0, s[8]); s[9] = fma(x2, w1, s[9]); s[10] = fma(x2, w2, s[10]); s[11] = fma(x2, w3, s[11]);
    s[12] = fma(x3, w0, s[12]); s[13] = fma(x3, w1, s[13]); s[14] = fma(x3, w2, s[14]); s[15] = fma(x3, w3, s[15]);
  }
  let ones = vec4<f32>(1.0);
  for (var i = 0u; i < 16u; i = i + 1u) { write_y(batch, row0 + i / 4u, col0 + i % 4u, dot(s[i], ones)); }
}

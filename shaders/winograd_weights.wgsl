// Winograd F(2×2, 3×3) weight transform (Lavin & Gray 2016): g [Cout, Cin, 3, 3] → U [16, chunk, Cin] for a chunk of output channels, U = G g Gᵀ with
// G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]. Runs at every conv call: keeping U would hold 16/9 of each weight.
// U's 16 planes are the right-hand sides of conv2d_winograd's GEMMs, stored [N, K] for the CPU matmul kernel.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

// This dispatch transforms output channels co0 .. co0 + count / Cin − 1 (U in chunks that fit one binding).
struct Params { count: u32, first: u32 } // count = chunk · Cin; first = co0 · Cin

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<elem>;
@group(0) @binding(2) var<storage, read_write> u: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg); // (co − co0) · Cin + ci
  if (i >= params.count) { return; }
  let k = (params.first + i) * 9u;
  // Rows of g (kernel rows) as vec3s; t = G g (4 × 3), then each row of t times Gᵀ.
  let g0 = vec3<f32>(f32(g[k]), f32(g[k + 1u]), f32(g[k + 2u]));
  let g1 = vec3<f32>(f32(g[k + 3u]), f32(g[k + 4u]), f32(g[k + 5u]));
  let g2 = vec3<f32>(f32(g[k + 6u]), f32(g[k + 7u]), f32(g[k + 8u]));
  let t = array<vec3<f32>, 4>(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2);
  for (var r = 0u; r < 4u; r = r + 1u) {
    let a = t[r];
    let row = vec4<f32>(a.x, 0.5 * (a.x + a.y + a.z), 0.5 * (a.x - a.y + a.z), a.z);
    // ×4, as V is stored ×¼ (see winograd_input.wgsl): |U| ≤ 9·max|g| stays far from f16's limit.
    for (var s = 0u; s < 4u; s = s + 1u) { u[(4u * r + s) * params.count + i] = elem(4.0 * row[s]); }
  }
}

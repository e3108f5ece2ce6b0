// Winograd F(2×2, 3×3) weight transform (Lavin & Gray 2016): g [Cout, Cin, 3, 3] → U [16, Cout, Cin], U = G g Gᵀ with
// G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]. Runs once per conv weight (the op keeps U with the weight).
// U's 16 planes are the right-hand sides of conv2d_winograd's GEMMs, stored [N, K] for the CPU matmul kernel.
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32 } // Cout · Cin

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<elem>;
@group(0) @binding(2) var<storage, read_write> u: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg); // co · Cin + ci
  if (i >= params.count) { return; }
  // Rows of g (kernel rows) as vec3s; t = G g (4 × 3), then each row of t times Gᵀ.
  let g0 = vec3<f32>(f32(g[i * 9u]), f32(g[i * 9u + 1u]), f32(g[i * 9u + 2u]));
  let g1 = vec3<f32>(f32(g[i * 9u + 3u]), f32(g[i * 9u + 4u]), f32(g[i * 9u + 5u]));
  let g2 = vec3<f32>(f32(g[i * 9u + 6u]), f32(g[i * 9u + 7u]), f32(g[i * 9u + 8u]));
  let t = array<vec3<f32>, 4>(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2);
  for (var r = 0u; r < 4u; r = r + 1u) {
    let a = t[r];
    let row = vec4<f32>(a.x, 0.5 * (a.x + a.y + a.z), 0.5 * (a.x - a.y + a.z), a.z);
    for (var s = 0u; s < 4u; s = s + 1u) { u[(4u * r + s) * params.count + i] = elem(row[s]); }
  }
}

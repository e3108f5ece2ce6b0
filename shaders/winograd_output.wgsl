// Winograd F(2×2, 3×3) output transform: the 16 GEMM products M [16, rows, Cout] of a band of the N·T tiles → y [N, Cout, H, W]. Tile (ty, tx)
// of channel co is Aᵀ m A (+ bias), Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]], written to rows 2ty, 2ty + 1 and columns
// 2tx, 2tx + 1 where they fall inside the image (odd H or W: the last tile's second row/column is dropped).
#include "include/elem.wgsl"
#include "include/grid.wgsl"

// This dispatch covers flattened tiles nt0 .. nt0 + count / cout − 1 (the band whose products M holds) and output
// channels co0 .. co0 + cout − 1 of y's y_channels (the chunk of U it was multiplied by).
struct Params { count: u32, cout: u32, h: u32, w: u32, tiles_w: u32, tiles: u32, nt0: u32, co0: u32, y_channels: u32 } // count = band · cout

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> m: array<elem>;
#if HAS_BIAS
@group(0) @binding(2) var<storage, read> bias: array<elem>;
#endif
@group(0) @binding(3) var<storage, read_write> y: array<elem>;

fn m_row(r: u32, i: u32) -> vec4<f32> {
  let at = 4u * r * params.count + i;
  return vec4<f32>(f32(m[at]), f32(m[at + params.count]), f32(m[at + 2u * params.count]), f32(m[at + 3u * params.count]));
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg); // (band tile) · Cout + co: channels fastest, as M's rows store them
  if (i >= params.count) { return; }
  let co = i % params.cout;
  let nt = params.nt0 + i / params.cout;
  let n = nt / params.tiles;
  let tile = nt % params.tiles;
  let row0 = 2u * (tile / params.tiles_w);
  let col0 = 2u * (tile % params.tiles_w);
  let m0 = m_row(0u, i);
  let m1 = m_row(1u, i);
  let m2 = m_row(2u, i);
  let m3 = m_row(3u, i);
  let t0 = m0 + m1 + m2;
  let t1 = m1 - m2 - m3;
#if HAS_BIAS
  let b = f32(bias[params.co0 + co]);
#else
  let b = 0.0;
#endif
  let out = array<vec2<f32>, 2>(vec2<f32>(t0.x + t0.y + t0.z, t0.y - t0.z - t0.w) + b, vec2<f32>(t1.x + t1.y + t1.z, t1.y - t1.z - t1.w) + b);
  let plane = n * params.y_channels + params.co0 + co;
  for (var r = 0u; r < 2u; r = r + 1u) {
    for (var s = 0u; s < 2u; s = s + 1u) {
      if (row0 + r < params.h && col0 + s < params.w) { y[(plane * params.h + row0 + r) * params.w + col0 + s] = elem(out[r][s]); }
    }
  }
}

// Winograd F(2×2, 3×3) input transform for a 3×3, stride-1, padding-1 conv: x [N, C, H, W] → V [16, rows, C] for a band of rows of the N·T tiles, T =
// ⌈H/2⌉·⌈W/2⌉ output tiles of 2×2. Tile (ty, tx) reads the 4×4 patch at rows 2ty − 1 .. 2ty + 2 and columns
// 2tx − 1 .. 2tx + 2 (zeros outside the image: the padding) and stores Bᵀ d B, Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0],
// [0, −1, 1, 0], [0, 1, 0, −1]]: additions only, exact up to one rounding per value. Plane p = 4r + s of V is the
// left-hand side of GEMM p, [tiles, C].
#include "include/elem.wgsl"
#include "include/grid.wgsl"

// This dispatch covers flattened tiles nt0 .. nt0 + count / C − 1 of the N·T (a band: V must fit one binding).
struct Params { count: u32, c: u32, h: u32, w: u32, tiles_w: u32, tiles: u32, nt0: u32 } // count = band · C; tiles = T

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> v: array<elem>;

// Pixel (row, col) of plane `plane` of x, zero outside the image (i32: the patch starts one pixel before it).
fn px(plane: u32, row: i32, col: i32) -> f32 {
  if (row < 0 || col < 0 || row >= i32(params.h) || col >= i32(params.w)) { return 0.0; }
  return f32(x[(plane * params.h + u32(row)) * params.w + u32(col)]);
}

fn patch_row(plane: u32, row: i32, col0: i32) -> vec4<f32> {
  return vec4<f32>(px(plane, row, col0), px(plane, row, col0 + 1), px(plane, row, col0 + 2), px(plane, row, col0 + 3));
}

// One row of t = Bᵀ d, times B.
fn times_b(t: vec4<f32>) -> vec4<f32> { return vec4<f32>(t.x - t.z, t.y + t.z, t.z - t.y, t.y - t.w); }

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg); // (band tile) · C + c: channels fastest, as V's rows store them
  if (i >= params.count) { return; }
  let c = i % params.c;
  let nt = params.nt0 + i / params.c;
  let n = nt / params.tiles;
  let tile = nt % params.tiles;
  let row0 = 2 * i32(tile / params.tiles_w) - 1;
  let col0 = 2 * i32(tile % params.tiles_w) - 1;
  let plane = n * params.c + c;
  let d0 = patch_row(plane, row0, col0);
  let d1 = patch_row(plane, row0 + 1, col0);
  let d2 = patch_row(plane, row0 + 2, col0);
  let d3 = patch_row(plane, row0 + 3, col0);
  let t = array<vec4<f32>, 4>(times_b(d0 - d2), times_b(d1 + d2), times_b(d2 - d1), times_b(d1 - d3));
  for (var r = 0u; r < 4u; r = r + 1u) {
    // Stored ×¼ (U is stored ×4, so every product U·V is unchanged, exactly: powers of two): an entry of Bᵀ d B sums
    // up to 4 inputs, so in f16 an input above 65504 / 4 overflowed V to ∞ where the conv's output is finite.
    for (var s = 0u; s < 4u; s = s + 1u) { v[(4u * r + s) * params.count + i] = elem(0.25 * t[r][s]); }
  }
}

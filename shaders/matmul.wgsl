// Tiled matmul y[b] = A[b]·B[b] (+ fused epilogue), for any M, N, K. A workgroup owns a
// TILE_M × TILE_N block of y; each thread owns THREAD_M rows × 4 columns held in vec4 registers.
// K advances TILE_K at a time through workgroup-memory tiles; storage is only touched through the
// read_a / read_b / write_y hooks of matmul_io.wgsl (layouts, dequantization, bias, activation).
// SPLIT_K: workgroups along z also split K into slices, each writing raw sums (src/ops/split-k.ts).
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

const TX: u32 = TILE_N / 4u;        // threads along N (4 columns each)
const TY: u32 = TILE_M / THREAD_M;  // threads along M
const THREADS: u32 = TX * TY;

// Both tiles k-major, so the THREAD_M rows (4 columns) a thread needs at one k are adjacent.
#if VEC4_TILES
// GPUs: vec4 elements, so one k step reads B's 4 columns and 4 rows of A with one load each (scalar tiles
// took 12 loads per 32 FMAs; the H200 ran them at 5 % of its FMA rate). Each k row is padded by one vec4:
// the tile stores below walk along k, and an unpadded stride of TILE_M / 4 vec4s puts them in one bank.
const A_STRIDE: u32 = TILE_M / 4u + 1u;
const B_STRIDE: u32 = TILE_N / 4u + 1u;
var<workgroup> a_tile4: array<vec4<f32>, TILE_K * A_STRIDE>;
var<workgroup> b_tile4: array<vec4<f32>, TILE_K * B_STRIDE>;
fn store_a(kk: u32, m: u32, v: f32) { a_tile4[kk * A_STRIDE + m / 4u][m % 4u] = v; }
fn store_b(kk: u32, n: u32, v: f32) { b_tile4[kk * B_STRIDE + n / 4u][n % 4u] = v; }
#else
// Scalar elements on CPU drivers, where a dynamic vec4 component store costs a select chain per element.
var<workgroup> a_tile: array<f32, TILE_K * TILE_M>;
var<workgroup> b_tile: array<f32, TILE_K * TILE_N>;
fn store_a(kk: u32, m: u32, v: f32) { a_tile[kk * TILE_M + m] = v; }
fn store_b(kk: u32, n: u32, v: f32) { b_tile[kk * TILE_N + n] = v; }
#endif

fn load_tiles(batch: u32, m0: u32, n0: u32, k0: u32, lid: u32, interior: bool) {
  for (var e = lid; e < TILE_M * TILE_K; e = e + THREADS) {
    // Consecutive threads walk along k: contiguous reads of row-major A.
    let m = e / TILE_K;
    let kk = e % TILE_K;
    var v: f32;
    if (interior) { v = read_a_unchecked(batch, m0 + m, k0 + kk); } else { v = read_a(batch, m0 + m, k0 + kk); }
    store_a(kk, m, v);
  }
  for (var e = lid; e < TILE_N * TILE_K; e = e + THREADS) {
#if B_LAYOUT_NK
    // B is [N, K] (weights): walk along k for contiguous reads.
    let n = e / TILE_K;
    let kk = e % TILE_K;
#else
    let kk = e / TILE_N;
    let n = e % TILE_N;
#endif
    var v: f32;
    if (interior) { v = read_b_unchecked(batch, k0 + kk, n0 + n); } else { v = read_b(batch, k0 + kk, n0 + n); }
    store_b(kk, n, v);
  }
}

fn write_row(batch: u32, row: u32, col0: u32, v: vec4<f32>) {
  write_y(batch, row, col0, v.x);
  write_y(batch, row, col0 + 1u, v.y);
  write_y(batch, row, col0 + 2u, v.z);
  write_y(batch, row, col0 + 3u, v.w);
}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let tx = lid3.x;
  let ty = lid3.y;
  let lid = ty * TX + tx;
#if SPLIT_K
  // This workgroup's K slice; the partial sums' batch index is wid.z itself (write_y).
  let batch = wid.z % params.batches;
  let k_begin = (wid.z / params.batches) * params.k_slice;
  let k_end = min(params.k, k_begin + params.k_slice);
#else
  let batch = wid.z;
  let k_begin = 0u;
  let k_end = params.k;
#endif
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let rows_inside = m0 + TILE_M <= params.m && n0 + TILE_N <= params.n;
  // Named accumulators, no private array: a dynamically indexed private array becomes per-lane
  // scratch memory on CPU drivers (lavapipe), which costs more than the FMAs.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
#if THREAD_ROWS_8
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
#endif

  for (var k0 = k_begin; k0 < k_end; k0 = k0 + TILE_K) {
    // Interior tiles skip the per-element bounds checks (a uniform branch per tile).
    load_tiles(batch, m0, n0, k0, lid, rows_inside && k0 + TILE_K <= params.k);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk = kk + 1u) {
#if VEC4_TILES
      let bv = b_tile4[kk * B_STRIDE + tx];
      let a03 = a_tile4[kk * A_STRIDE + ty * (THREAD_M / 4u)];
      acc0 = fma(vec4<f32>(a03.x), bv, acc0);
      acc1 = fma(vec4<f32>(a03.y), bv, acc1);
      acc2 = fma(vec4<f32>(a03.z), bv, acc2);
      acc3 = fma(vec4<f32>(a03.w), bv, acc3);
#if THREAD_ROWS_8
      let a47 = a_tile4[kk * A_STRIDE + ty * (THREAD_M / 4u) + 1u];
      acc4 = fma(vec4<f32>(a47.x), bv, acc4);
      acc5 = fma(vec4<f32>(a47.y), bv, acc5);
      acc6 = fma(vec4<f32>(a47.z), bv, acc6);
      acc7 = fma(vec4<f32>(a47.w), bv, acc7);
#endif
#else
      let bb = kk * TILE_N + tx * 4u;
      let bv = vec4<f32>(b_tile[bb], b_tile[bb + 1u], b_tile[bb + 2u], b_tile[bb + 3u]);
      let ab = kk * TILE_M + ty * THREAD_M;
      acc0 = fma(vec4<f32>(a_tile[ab]), bv, acc0);
      acc1 = fma(vec4<f32>(a_tile[ab + 1u]), bv, acc1);
      acc2 = fma(vec4<f32>(a_tile[ab + 2u]), bv, acc2);
      acc3 = fma(vec4<f32>(a_tile[ab + 3u]), bv, acc3);
#if THREAD_ROWS_8
      acc4 = fma(vec4<f32>(a_tile[ab + 4u]), bv, acc4);
      acc5 = fma(vec4<f32>(a_tile[ab + 5u]), bv, acc5);
      acc6 = fma(vec4<f32>(a_tile[ab + 6u]), bv, acc6);
      acc7 = fma(vec4<f32>(a_tile[ab + 7u]), bv, acc7);
#endif
#endif
    }
    workgroupBarrier();
  }

  let row0 = m0 + ty * THREAD_M;
  let col0 = n0 + tx * 4u;
  let y_batch = wid.z;
  write_row(y_batch, row0, col0, acc0);
  write_row(y_batch, row0 + 1u, col0, acc1);
  write_row(y_batch, row0 + 2u, col0, acc2);
  write_row(y_batch, row0 + 3u, col0, acc3);
#if THREAD_ROWS_8
  write_row(y_batch, row0 + 4u, col0, acc4);
  write_row(y_batch, row0 + 5u, col0, acc5);
  write_row(y_batch, row0 + 6u, col0, acc6);
  write_row(y_batch, row0 + 7u, col0, acc7);
#endif
}

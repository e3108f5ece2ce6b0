// conv2d (NCHW, cross-correlation, zero padding) as an implicit GEMM: rows = output pixels
// (M = N·Ho·Wo), columns = output channels, K = Cin·KH·KW; the im2col matrix is never stored, the
// A-tile loader gathers it from x. TILE_M×TILE_N output tiles, TILE_K-deep slabs of A and B in
// workgroup memory; each of the 16×16 threads owns a (4·A_VEC4)×4 register tile (pixels × channels),
// so TILE_N is 64 and TILE_M a multiple of 64 (128: 8×4 per thread measured best on lavapipe, where
// every workgroup-memory read is a gather and FMAs per read decide the speed).
// The B read is the hook for weight formats: f32/f16 [Cout, K], int8 (WEIGHT_INT8) or int4
// (WEIGHT_INT4) codes packed in u32 rows (layout of src/quant/formats.ts), dequantized on load.
// Workgroup z sums K range [z·k_slice, +k_slice): one range (z = 0, k_slice ≥ K) unless SPLIT_K, where each range's
// sums go to their own f32 copy of the output, without bias, and split_k_sum.wgsl adds them (src/ops/split-k.ts).
#include "include/elem.wgsl"

struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, stride: u32,
  pad: u32, k_total: u32, k_words: u32, scale_groups: u32,
  group_size: u32, k_slice: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#include "include/conv_weight.wgsl"
#if SPLIT_K
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
#else
@group(0) @binding(5) var<storage, read_write> y: array<elem>;
#endif

const THREADS = 256u;
// Pixel vec4s per thread: thread (x, y) owns pixels 4·(x + 16·i) .. +3 for i < A_VEC4.
const A_VEC4 = TILE_M / 64u;
const KHW = KH * KW;

// Slabs indexed [k][m/4] and [k][n/4]: one vec4 read feeds four FMAs of the register tile.
var<workgroup> a_tile: array<vec4<f32>, TILE_K * TILE_M / 4u>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_N / 4u>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * 16u + lid.x;
  let hw_out = params.ho * params.wo;
  let m_total = params.batch * hw_out;
  let m0 = wid.x * TILE_M;
  let n0 = wid.y * TILE_N;

  // This thread loads A column m0 + (t % TILE_M) for every slab: decode its pixel once.
  let a_m_local = t % TILE_M;
  let a_k_first = t / TILE_M;
  let a_m = m0 + a_m_local;
  let a_valid = a_m < m_total;
  let a_img = a_m / hw_out;
  let a_pix = a_m % hw_out;
  let ih0 = i32((a_pix / params.wo) * params.stride) - i32(params.pad);
  let iw0 = i32((a_pix % params.wo) * params.stride) - i32(params.pad);
  let x_img_base = a_img * params.cin * params.h * params.w;
  // ... and B row n0 + (t % TILE_N).
  let b_co = n0 + t % TILE_N;

  var acc: array<vec4<f32>, 4u * A_VEC4>;
  for (var j = 0u; j < 4u * A_VEC4; j = j + 1u) { acc[j] = vec4<f32>(0.0); }

  let k_begin = wid.z * params.k_slice;
  let k_end = min(params.k_total, k_begin + params.k_slice);
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + TILE_K) {
    for (var r = 0u; r < TILE_K; r = r + THREADS / TILE_M) {
      let kl = a_k_first + r;
      let k = k0 + kl;
      var a = 0.0;
      if (a_valid && k < k_end) {
        let ci = k / KHW;
        let rem = k % KHW;
        let ih = ih0 + i32(rem / KW);
        let iw = iw0 + i32(rem % KW);
        if (ih >= 0 && ih < i32(params.h) && iw >= 0 && iw < i32(params.w)) {
          a = f32(x[x_img_base + (ci * params.h + u32(ih)) * params.w + u32(iw)]);
        }
      }
      a_tile[kl * (TILE_M / 4u) + a_m_local / 4u][a_m_local % 4u] = a;
    }
    for (var r = 0u; r < TILE_K; r = r + THREADS / TILE_N) {
      let kl = t / TILE_N + r;
      let k = k0 + kl;
      var b = 0.0;
      if (b_co < params.cout && k < k_end) { b = read_weight(b_co, k); }
      b_tile[kl * (TILE_N / 4u) + (t % TILE_N) / 4u][(t % TILE_N) % 4u] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk = kk + 1u) {
      let b4 = b_tile[kk * (TILE_N / 4u) + lid.y];
      for (var i = 0u; i < A_VEC4; i = i + 1u) {
        let a4 = a_tile[kk * (TILE_M / 4u) + lid.x + 16u * i];
        acc[4u * i + 0u] = fma(a4, vec4<f32>(b4.x), acc[4u * i + 0u]);
        acc[4u * i + 1u] = fma(a4, vec4<f32>(b4.y), acc[4u * i + 1u]);
        acc[4u * i + 2u] = fma(a4, vec4<f32>(b4.z), acc[4u * i + 2u]);
        acc[4u * i + 3u] = fma(a4, vec4<f32>(b4.w), acc[4u * i + 3u]);
      }
    }
    workgroupBarrier();
  }

  // acc[4·v + j][i] = output (pixel m0 + 4·(lid.x + 16·v) + i, channel n0 + 4·lid.y + j).
  for (var v4 = 0u; v4 < A_VEC4; v4 = v4 + 1u) {
  for (var j = 0u; j < 4u; j = j + 1u) {
    let co = n0 + lid.y * 4u + j;
    if (co >= params.cout) { continue; }
#if HAS_BIAS
    let bv = f32(bias[co]);
#else
    let bv = 0.0;
#endif
    for (var i = 0u; i < 4u; i = i + 1u) {
      let m = m0 + (lid.x + 16u * v4) * 4u + i;
      if (m >= m_total) { continue; }
      let out = (m / hw_out * params.cout + co) * hw_out + m % hw_out;
#if SPLIT_K
      // This K range's copy of y (the op binds no bias here: split_k_sum.wgsl adds it).
      y[wid.z * m_total * params.cout + out] = acc[4u * v4 + j][i] + bv;
#else
      y[out] = elem(acc[4u * v4 + j][i] + bv);
#endif
    }
  }
  }
}

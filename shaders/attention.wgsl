// Multi-head attention, flash style: softmax(q·kᵀ·scale)·v without ever storing the Lq×Lk scores.
// A workgroup owns Q_TILE = 64 query rows of one (batch, head) and streams K/V through workgroup
// memory KV_TILE = 32 keys at a time, keeping an online softmax (running max m, sum l) per row:
//   1. S = Q·Kᵀ for the tile: each of the 16×8 threads a 4 queries × 4 keys register block;
//   2. one thread per row: tile max, m_new, p = exp(s − m_new), l, and alpha = exp(m − m_new);
//   3. O = alpha·O + P·V: each thread 4 queries × CH_VEC4 channel vec4s, accumulated in f32.
// Register blocks (not one row per thread) keep per-thread state small for CPU SIMD (lavapipe).
// Heads wider than 64 split their output channels over workgroups (wid.z = 64-channel chunk), each
// recomputing the scores: lavapipe compiles CH_VEC4 > 2 very slowly (6-10 s), and SD's wide heads
// (80, 160) come with few tokens.
// The queries of phase 1: read from storage by each thread (4 scalar loads per channel), or, where workgroup memory
// allows, staged in it once (Q_SHARED) or once per K/V tile in the score tile's memory (Q_RESTAGED): one vec4 load.
// Layout: q [B, Lq, H·d], k/v [B, Lk, H·d], y [B, Lq, H·d]; head h = channels [h·d, (h+1)·d).
#include "include/attention_io.wgsl"

const Q_TILE = 64u;
const KV_TILE = 32u;
const THREADS = 128u;
// Output channels of one chunk, rounded up so the 8 thread columns own CH_VEC4 whole vec4s each.
const D_PAD = CH_VEC4 * 32u;

// K tile transposed [channel][key] for phase 1 (KT_ROWS = max(HEAD_DIM, D_PAD) rows), then the V
// tile [key][chunk channel] for phase 3 (reused).
var<workgroup> kv_tile: array<vec4<f32>, KT_ROWS * KV_TILE / 4u>;
#if Q_RESTAGED
// The queries [channel][query] (QP_ROWS = max(HEAD_DIM, KV_TILE) rows), loaded again for every K/V tile, then the
// scores and probabilities [key][query] written over them once phase 1 has read them: the query tile's loads
// without Q_SHARED's extra 16 KiB at d64, for adapters that grant 32 KiB of workgroup memory (browsers).
var<workgroup> p_tile: array<vec4<f32>, QP_ROWS * Q_TILE / 4u>;
#else
// Scores, then probabilities, [key][query].
var<workgroup> p_tile: array<vec4<f32>, KV_TILE * Q_TILE / 4u>;
#endif
var<workgroup> row_max: array<f32, Q_TILE>;
var<workgroup> row_sum: array<f32, Q_TILE>;
var<workgroup> row_alpha: array<f32, Q_TILE>;
#if Q_SHARED
// The workgroup's queries [channel][query], loaded once: the score loop then reads 4 queries with one vec4 load
// instead of 4 scalar loads from storage (which bound it on an H200). Only where the adapter's workgroup memory
// holds it (src/ops/attention.ts: 16 KiB more at d64).
var<workgroup> q_tile: array<vec4<f32>, HEAD_DIM * Q_TILE / 4u>;
#endif

// Query tile access (Q_SHARED: its own array; Q_RESTAGED: the start of p_tile): channel c of query rows 4·x .. +3.
#if Q_SHARED
fn store_query(c: u32, row: u32, value: f32) { q_tile[c * (Q_TILE / 4u) + row / 4u][row % 4u] = value; }
fn queries4(c: u32, x: u32) -> vec4<f32> { return q_tile[c * (Q_TILE / 4u) + x]; }
#endif
#if Q_RESTAGED
fn store_query(c: u32, row: u32, value: f32) { p_tile[c * (Q_TILE / 4u) + row / 4u][row % 4u] = value; }
fn queries4(c: u32, x: u32) -> vec4<f32> { return p_tile[c * (Q_TILE / 4u) + x]; }
#endif
#if Q_IN_WORKGROUP
// The workgroup's queries into workgroup memory [channel][query]; consecutive threads walk along channels:
// contiguous reads of one query row (rows past Lq repeat the last one, never written out).
fn load_queries(t: u32, b: u32, q0: u32, width: u32, head_off: u32) {
  for (var i = t; i < Q_TILE * HEAD_DIM; i = i + THREADS) {
    let row = i / HEAD_DIM;
    let c = i % HEAD_DIM;
    let qrow = min(q0 + row, params.lq - 1u);
    store_query(c, row, f32(q[(b * params.lq + qrow) * width + head_off + c]));
  }
}
#endif

@compute @workgroup_size(16, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * 16u + lid.x;
  let b = wid.y / params.heads;
  let h = wid.y % params.heads;
  let width = params.heads * HEAD_DIM;
  let q0 = wid.x * Q_TILE;
  let head_off = h * HEAD_DIM;
  let chunk0 = wid.z * D_PAD;

  if (t < Q_TILE) {
    row_max[t] = NEG_BIG;
    row_sum[t] = 0.0;
  }
  // Rows of this thread's q loads (clamped: rows past Lq compute garbage that is never written).
  var q_base: array<u32, 4>;
  for (var r = 0u; r < 4u; r = r + 1u) {
    q_base[r] = (b * params.lq + min(q0 + 4u * lid.x + r, params.lq - 1u)) * width + head_off;
  }
  var acc: array<vec4<f32>, 4u * CH_VEC4>;
  for (var i = 0u; i < 4u * CH_VEC4; i = i + 1u) { acc[i] = vec4<f32>(0.0); }
#if Q_SHARED
  load_queries(t, b, q0, width, head_off);
  // (The K-tile barrier below orders these stores before the first score loop.)
#endif

  for (var t0 = 0u; t0 < params.lk; t0 = t0 + KV_TILE) {
    // K tile, transposed; zero past Lk and past HEAD_DIM.
    for (var i = t; i < KV_TILE * HEAD_DIM; i = i + THREADS) {
      let key = i % KV_TILE;
      let c = i / KV_TILE;
      var kval = 0.0;
      if (t0 + key < params.lk && c < HEAD_DIM) { kval = f32(k[(b * params.lk + t0 + key) * width + head_off + c]); }
      kv_tile[c * (KV_TILE / 4u) + key / 4u][key % 4u] = kval;
    }
#if Q_RESTAGED
    load_queries(t, b, q0, width, head_off);
#endif
    workgroupBarrier();

    // 1. Scores of queries 4·lid.x + r against keys 4·lid.y .. +3.
    var s: array<vec4<f32>, 4>;
    for (var r = 0u; r < 4u; r = r + 1u) { s[r] = vec4<f32>(0.0); }
    for (var c = 0u; c < HEAD_DIM; c = c + 1u) {
      let k4 = kv_tile[c * (KV_TILE / 4u) + lid.y];
#if Q_IN_WORKGROUP
      let q4 = queries4(c, lid.x);
      for (var r = 0u; r < 4u; r = r + 1u) { s[r] = fma(vec4<f32>(q4[r]), k4, s[r]); }
#else
      for (var r = 0u; r < 4u; r = r + 1u) { s[r] = fma(vec4<f32>(f32(q[q_base[r] + c])), k4, s[r]); }
#endif
    }
#if Q_RESTAGED
    workgroupBarrier(); // every thread has read the queries before the scores overwrite them
#endif
    for (var e = 0u; e < 4u; e = e + 1u) {
      p_tile[(4u * lid.y + e) * (Q_TILE / 4u) + lid.x] = vec4<f32>(s[0][e], s[1][e], s[2][e], s[3][e]) * params.scale;
    }
    workgroupBarrier();

    // 2. Online softmax statistics, one thread per query row.
    if (t < Q_TILE) {
      let n = min(KV_TILE, params.lk - t0);
#if CAUSAL
      // Causal mask (CLIP text): query q0 + t sees keys ≤ its own index; masked keys get p = 0.
      let n_vis = select(0u, min(n, q0 + t + 1u - t0), q0 + t >= t0);
#else
      let n_vis = n;
#endif
      var tile_max = NEG_BIG;
      for (var j = 0u; j < n_vis; j = j + 1u) { tile_max = max(tile_max, p_tile[j * (Q_TILE / 4u) + t / 4u][t % 4u]); }
      let m_new = max(row_max[t], tile_max);
      var sum = 0.0;
      for (var j = 0u; j < KV_TILE; j = j + 1u) {
        let idx = j * (Q_TILE / 4u) + t / 4u;
        let p = select(0.0, exp(p_tile[idx][t % 4u] - m_new), j < n_vis);
        p_tile[idx][t % 4u] = p;
        sum = sum + p;
      }
      let alpha = exp(row_max[t] - m_new);
      row_alpha[t] = alpha;
      row_sum[t] = row_sum[t] * alpha + sum;
      row_max[t] = m_new;
    }
    // V tile [key][channel] into the same memory (phase 1 is done with K).
    for (var i = t; i < KV_TILE * D_PAD; i = i + THREADS) {
      let key = i / D_PAD;
      let c = chunk0 + i % D_PAD;
      var vval = 0.0;
      if (t0 + key < params.lk && c < HEAD_DIM) { vval = f32(v[(b * params.lk + t0 + key) * width + head_off + c]); }
      kv_tile[i / 4u][i % 4u] = vval;
    }
    workgroupBarrier();

    // 3. acc = alpha·acc + P·V for queries 4·lid.x + r, channel vec4s lid.y + 8·u.
    for (var r = 0u; r < 4u; r = r + 1u) {
      let alpha = row_alpha[4u * lid.x + r];
      for (var u = 0u; u < CH_VEC4; u = u + 1u) { acc[r * CH_VEC4 + u] = acc[r * CH_VEC4 + u] * alpha; }
    }
    for (var j = 0u; j < KV_TILE; j = j + 1u) {
      let p4 = p_tile[j * (Q_TILE / 4u) + lid.x];
      for (var u = 0u; u < CH_VEC4; u = u + 1u) {
        let v4 = kv_tile[j * (D_PAD / 4u) + lid.y + 8u * u];
        for (var r = 0u; r < 4u; r = r + 1u) { acc[r * CH_VEC4 + u] = fma(vec4<f32>(p4[r]), v4, acc[r * CH_VEC4 + u]); }
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < 4u; r = r + 1u) {
    let row = q0 + 4u * lid.x + r;
    if (row >= params.lq) { break; }
    let inv_l = 1.0 / row_sum[4u * lid.x + r];
    for (var u = 0u; u < CH_VEC4; u = u + 1u) {
      let o = acc[r * CH_VEC4 + u] * inv_l;
      for (var e = 0u; e < 4u; e = e + 1u) {
        let c = chunk0 + 4u * (lid.y + 8u * u) + e;
        if (c < HEAD_DIM) { y[q_base[r] + c] = elem(o[e]); }
      }
    }
  }
}

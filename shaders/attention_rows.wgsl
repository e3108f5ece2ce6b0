// Multi-head attention for CPU drivers (lavapipe, SwiftShader): flash style like attention.wgsl (online
// softmax, no Lq×Lk scores anywhere), but with no workgroup memory and no barriers. A thread owns ROWS query
// rows of one (batch, head) with all their channels: q (pre-scaled) and the output accumulators live in the
// thread, and K/V rows are read KEYS at a time, each value feeding ROWS rows. On CPU drivers a barrier is a
// context switch and a workgroup-memory read costs what a storage read does, so the tiled kernel spent its time
// on both (kernels-bench/RESULTS.md).
// SG_SHARE (lavapipe's 8-lane subgroups): the 8 lanes need the same K/V rows, and a storage read costs ~9
// instructions per lane there, so lane l reads channel 8·c + l alone and subgroupBroadcast hands it to all lanes
// (an extract and a splat), as matmul_cpu.wgsl does with A. Without it (SwiftShader) every thread reads the rows.
// Needs HEAD_DIM % 8 == 0. The thread's q and output arrays live in registers or spill slots while the channel loops
// unroll (d ≤ 80 on lavapipe); past that (d = 160) they are indexed at run time, slower but still ahead of the tiled
// kernel (ATTENTION_ROWS_MAX_HEAD_DIM).
// Layout as attention.wgsl: q [B, Lq, H·d], k/v [B, Lk, H·d], y [B, Lq, H·d]; head h = channels [h·d, (h+1)·d).
#if SG_SHARE
enable subgroups;
#endif
#include "include/attention_io.wgsl"

const D4: u32 = HEAD_DIM / 4u;
const D8: u32 = HEAD_DIM / 8u;
const KEYS: u32 = 4u;
// Lazy rescaling: weights exp(s − m) may reach e^8 ≈ 3e3 against a running max up to 8 below the true one, far from
// f32's range (sums of Lk such terms stay under 1e8 for Lk ≤ 32k), and o / l is unchanged by the common factor.
const RESCALE_SLACK: f32 = 8.0;

fn q4(i: u32) -> vec4<f32> { return vec4<f32>(f32(q[i]), f32(q[i + 1u]), f32(q[i + 2u]), f32(q[i + 3u])); }

// Channels 8·c .. 8·c + 7 of the K (V) row starting at `base`, as two vec4s.
#if SG_SHARE
fn share8(x: f32) -> mat2x4<f32> {
  return mat2x4<f32>(
    vec4<f32>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u)),
    vec4<f32>(subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u)));
}
fn k8(base: u32, c: u32, lane: u32) -> mat2x4<f32> { return share8(f32(k[base + 8u * c + lane])); }
fn v8(base: u32, c: u32, lane: u32) -> mat2x4<f32> { return share8(f32(v[base + 8u * c + lane])); }
#else
fn k4(i: u32) -> vec4<f32> { return vec4<f32>(f32(k[i]), f32(k[i + 1u]), f32(k[i + 2u]), f32(k[i + 3u])); }
fn v4(i: u32) -> vec4<f32> { return vec4<f32>(f32(v[i]), f32(v[i + 1u]), f32(v[i + 2u]), f32(v[i + 3u])); }
fn k8(base: u32, c: u32, lane: u32) -> mat2x4<f32> { return mat2x4<f32>(k4(base + 8u * c), k4(base + 8u * c + 4u)); }
fn v8(base: u32, c: u32, lane: u32) -> mat2x4<f32> { return mat2x4<f32>(v4(base + 8u * c), v4(base + 8u * c + 4u)); }
#endif

@compute @workgroup_size(WG_SIZE)
#if SG_SHARE
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  // No early return: every lane takes part in the broadcasts; rows past Lq are computed and dropped.
  let row0 = gid.x * ROWS;
  // The workgroup's last row bounds the key loop: uniform, as the broadcasts require.
  let group_last = min((wid.x + 1u) * WG_SIZE * ROWS - 1u, params.lq - 1u);
#else
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let lane = 0u;
  let row0 = gid.x * ROWS;
  if (row0 >= params.lq) { return; }
  let group_last = min(row0 + ROWS - 1u, params.lq - 1u);
#endif
  let b = gid.y / params.heads;
  let head_off = (gid.y % params.heads) * HEAD_DIM;
  let width = params.heads * HEAD_DIM;
  // Rows past Lq repeat the last row (computed, never written).
  var qrow: array<u32, ROWS>;
  for (var r = 0u; r < ROWS; r = r + 1u) { qrow[r] = min(row0 + r, params.lq - 1u); }
  var qv: array<vec4<f32>, ROWS * D4>;
  var o: array<vec4<f32>, ROWS * D4>;
  var m: array<f32, ROWS>;
  var l: array<f32, ROWS>;
  for (var r = 0u; r < ROWS; r = r + 1u) {
    let base = (b * params.lq + qrow[r]) * width + head_off;
    for (var c = 0u; c < D4; c = c + 1u) {
      qv[r * D4 + c] = q4(base + 4u * c) * params.scale;
      o[r * D4 + c] = vec4<f32>(0.0);
    }
    m[r] = NEG_BIG;
    l[r] = 0.0;
  }
#if CAUSAL
  // Causal (CLIP text, Lq = Lk): row i sees keys j ≤ i; the last row of the thread (workgroup) sees the most.
  let n_keys = min(params.lk, group_last + 1u);
#else
  let n_keys = params.lk;
#endif
  let kv_base = b * params.lk * width + head_off;
  for (var j0 = 0u; j0 < n_keys; j0 = j0 + KEYS) {
    // Scores of the thread's rows against keys j0 .. j0 + 3 (clamped reads past the end, masked below).
    var s = array<vec4<f32>, ROWS>();
    for (var e = 0u; e < KEYS; e = e + 1u) {
      let kb = kv_base + min(j0 + e, params.lk - 1u) * width;
      for (var c = 0u; c < D8; c = c + 1u) {
        let kv = k8(kb, c, lane);
        for (var r = 0u; r < ROWS; r = r + 1u) {
          s[r][e] = s[r][e] + dot(qv[r * D4 + 2u * c], kv[0]) + dot(qv[r * D4 + 2u * c + 1u], kv[1]);
        }
      }
    }
    // Online softmax over the visible keys of this block: p = 0 for the others.
    var p: array<vec4<f32>, ROWS>;
    for (var r = 0u; r < ROWS; r = r + 1u) {
#if CAUSAL
      let last = min(n_keys, qrow[r] + 1u);
#else
      let last = n_keys;
#endif
      let visible = vec4<u32>(j0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(last);
      let sv = select(vec4<f32>(NEG_BIG), s[r], visible);
      let m_blk = max(max(sv.x, sv.y), max(sv.z, sv.w));
      // The running max moves (and l, o are rescaled) only when a block beats it by RESCALE_SLACK: after the
      // first keys that is rare, and the rescale was a multiply per output channel per block.
      if (m_blk > m[r] + RESCALE_SLACK) {
        let alpha = exp(m[r] - m_blk);
        l[r] = l[r] * alpha;
        for (var c = 0u; c < D4; c = c + 1u) { o[r * D4 + c] = o[r * D4 + c] * alpha; }
        m[r] = m_blk;
      }
      p[r] = select(vec4<f32>(0.0), exp(s[r] - m[r]), visible);
      l[r] = l[r] + dot(p[r], vec4<f32>(1.0));
    }
    for (var e = 0u; e < KEYS; e = e + 1u) {
      let vb = kv_base + min(j0 + e, params.lk - 1u) * width;
      for (var c = 0u; c < D8; c = c + 1u) {
        let vv = v8(vb, c, lane);
        for (var r = 0u; r < ROWS; r = r + 1u) {
          let pe = vec4<f32>(p[r][e]);
          o[r * D4 + 2u * c] = fma(pe, vv[0], o[r * D4 + 2u * c]);
          o[r * D4 + 2u * c + 1u] = fma(pe, vv[1], o[r * D4 + 2u * c + 1u]);
        }
      }
    }
  }
  for (var r = 0u; r < ROWS; r = r + 1u) {
    if (row0 + r >= params.lq) { break; }
    let base = (b * params.lq + row0 + r) * width + head_off;
    let inv_l = 1.0 / l[r];
    for (var c = 0u; c < D4; c = c + 1u) {
      let out = o[r * D4 + c] * inv_l;
      y[base + 4u * c] = elem(out.x);
      y[base + 4u * c + 1u] = elem(out.y);
      y[base + 4u * c + 2u] = elem(out.z);
      y[base + 4u * c + 3u] = elem(out.w);
    }
  }
}

// Matmul for CPU adapters (lavapipe; SwiftShader has no subgroups): no workgroup memory, no barriers.
// lavapipe runs 8 invocations as the lanes of one SIMD loop, and every storage load whose offset is not
// a constant or push-constant expression becomes a per-lane scalar loop with a bounds check (~8
// instructions per value per lane), while a subgroup broadcast is one extract + splat. So a lane owns
// 4 output COLUMNS (B read per lane, each value feeding ROWS FMAs) and the ROWS rows, shared by the
// subgroup, are loaded once per subgroup (lane l loads k0 + 4l .. +3 of each row) and broadcast to
// all lanes: A values cost 1/8 of a per-lane load. Requires subgroup size SG (8 on 256-bit llvmpipe)
// and B stored [N, K]: float with K % 4 == 0 (VEC4_AB), or int4 codes (B_INT4) with K and the group size
// multiples of 32, dequantized in registers (one u32 load per lane per 4 k instead of 4 floats).
// B_INT8 (per-channel int8 codes, scale in the epilogue) serves W8A16; A_INT8 reads per-token int8
// activation codes instead of floats (W8A8 / W4A8, see a4 below), scaled per row in write_row.
// F16_WORDS reads f16 A and B as u32 pairs (a load per 2 halves instead of per half). ROWS_32 gives a lane
// 32 rows, halving B's loads per FMA, with the subgroup split in two lane groups of 16 rows (see K_CHUNK).
// Accumulators are named vec4s (one per row, one sum per column), module-private so the step
// functions can update them (never indexed dynamically). Measured ratios: kernels-bench/RESULTS.md.
enable subgroups;
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

const SG: u32 = 8u;
#if ROWS_32
// 32 rows: lanes 0-3 load rows 0-15 and lanes 4-7 rows 16-31, each lane 4 k of them, so a chunk is 16 k and
// only 16 A vectors are live (as for 16 rows): the same loads per k as one lane group per 32 k, with the
// unrolled body no larger than the 16-row kernel's.
const K_CHUNK: u32 = 16u;
#else
const K_CHUNK: u32 = 4u * SG; // k values per subgroup-wide A load
#endif

// One accumulator per row: a sum per column of the lane's 4.
alias Acc = vec4<f32>;
var<private> acc0: vec4<f32>; var<private> acc1: vec4<f32>; var<private> acc2: vec4<f32>; var<private> acc3: vec4<f32>;
var<private> acc4: vec4<f32>; var<private> acc5: vec4<f32>; var<private> acc6: vec4<f32>; var<private> acc7: vec4<f32>;
#if ROWS_16
var<private> acc8: vec4<f32>; var<private> acc9: vec4<f32>; var<private> acc10: vec4<f32>; var<private> acc11: vec4<f32>;
var<private> acc12: vec4<f32>; var<private> acc13: vec4<f32>; var<private> acc14: vec4<f32>; var<private> acc15: vec4<f32>;
#endif
#if ROWS_32
var<private> acc16: vec4<f32>; var<private> acc17: vec4<f32>; var<private> acc18: vec4<f32>; var<private> acc19: vec4<f32>;
var<private> acc20: vec4<f32>; var<private> acc21: vec4<f32>; var<private> acc22: vec4<f32>; var<private> acc23: vec4<f32>;
var<private> acc24: vec4<f32>; var<private> acc25: vec4<f32>; var<private> acc26: vec4<f32>; var<private> acc27: vec4<f32>;
var<private> acc28: vec4<f32>; var<private> acc29: vec4<f32>; var<private> acc30: vec4<f32>; var<private> acc31: vec4<f32>;
#endif

// s + x·w over 4 consecutive k: one dependent chain, so each accumulator is written once per step.
fn dot_acc(x: vec4<f32>, w: vec4<f32>, s: f32) -> f32 {
  return fma(x.w, w.w, fma(x.z, w.z, fma(x.y, w.y, fma(x.x, w.x, s))));
}

// One row's 4 k values (x) against the lane's 4 columns (w0..w3).
fn row_acc(x: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, acc: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot_acc(x, w0, acc.x), dot_acc(x, w1, acc.y), dot_acc(x, w2, acc.z), dot_acc(x, w3, acc.w));
}

#if A_INT8
// Word i of the activation codes as 4 floats, minus the row's zero point: exact small integers, so the
// FMAs below sum exact integer products (exact while a partial sum stays under 2^24; W4A8 sums are at
// most 255·8 per k, W8A8 128·127 — past that the f32 sum rounds like any float accumulation, which is
// still within the float32 rounding the quant tolerances allow). lavapipe has no packed int8 dot in
// hardware; f32 FMAs on unpacked codes are what it runs fastest, and the codes still cut A's loads 4×.
fn a4(i: u32, zero: f32) -> vec4<f32> {
  let w = bitcast<i32>(a[i]);
  return vec4<f32>((vec4<i32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u)) - zero;
}
fn a_zero(row: u32) -> f32 {
#if A_ZERO_POINT
  return a_zeros[row];
#else
  return 0.0;
#endif
}
#else
#if F16_WORDS
// 4 halves from two u32 words (F16_WORDS, see matmul_io.wgsl).
fn f16x4(v: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }
fn a4(i: u32, zero: f32) -> vec4<f32> { return f16x4(a[i]); }
#else
fn a4(i: u32, zero: f32) -> vec4<f32> { return vec4<f32>(a[i]); }
#endif
fn a_zero(row: u32) -> f32 { return 0.0; }
#endif

// The lane's 4 columns of B (element offsets of their rows) and, for int4, their current group's
// scales and zero points (reloaded once per K_CHUNK: the group size is a multiple of it).
var<private> bcol: vec4<u32>;
#if B_INT4
var<private> gscale: vec4<f32>;
var<private> gzero: vec4<f32>;

fn load_group(g: u32) {
  let c = bcol * params.groups_per_row + g;
  gscale = vec4<f32>(b_scale(c.x), b_scale(c.y), b_scale(c.z), b_scale(c.w));
#if B_ZERO_POINT
  gzero = vec4<f32>(b_zero(c.x), b_zero(c.y), b_zero(c.z), b_zero(c.w));
#else
  gzero = vec4<f32>(0.0);
#endif
}

// The lane's 4 columns' code words holding k = 8·(q / 2) .. +7, loaded once per two steps of 4 k (main
// calls this before every even step): each word feeds two dequant4 calls.
var<private> bwords: vec4<u32>;
fn load_b_words(q: u32) {
  let w = bcol * params.words_per_row + q / 2u;
  bwords = vec4<u32>(b[w.x], b[w.y], b[w.z], b[w.w]);
}

// k = 4q .. 4q + 3 of one column: the nibbles (code + 8) of half q % 2 of its word, as in read_b.
fn dequant4(word: u32, q: u32, scale: f32, zero: f32) -> vec4<f32> {
  let sh = 16u * (q & 1u);
  let nib = (vec4<u32>(word) >> vec4<u32>(sh, sh + 4u, sh + 8u, sh + 12u)) & vec4<u32>(0xFu);
  return (vec4<f32>(nib) - f32(INT4_UNPACK_BIAS)) * scale + zero;
}
#endif

#if B_INT8
fn int8x4(word: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
#endif

// Columns = the lane's 4 columns at k = 4q .. 4q + 3.
fn b_cols(q: u32) -> mat4x4<f32> {
#if B_INT4
  return mat4x4<f32>(dequant4(bwords.x, q, gscale.x, gzero.x), dequant4(bwords.y, q, gscale.y, gzero.y),
                     dequant4(bwords.z, q, gscale.z, gzero.z), dequant4(bwords.w, q, gscale.w, gzero.w));
#else
#if B_INT8
  // Per-channel int8 codes, one word per 4 k; the scale is applied once in the epilogue (SCALE_IN_EPILOGUE).
  let r = bcol * params.words_per_row + q;
  return mat4x4<f32>(int8x4(b[r.x]), int8x4(b[r.y]), int8x4(b[r.z]), int8x4(b[r.w]));
#else
  let k4 = params.k / 4u;
  let r = bcol * k4 + q;
#if F16_WORDS
  return mat4x4<f32>(f16x4(b[r.x]), f16x4(b[r.y]), f16x4(b[r.z]), f16x4(b[r.w]));
#else
  return mat4x4<f32>(vec4<f32>(b[r.x]), vec4<f32>(b[r.y]), vec4<f32>(b[r.z]), vec4<f32>(b[r.w]));
#endif
#endif
#endif
}

// Rows 0..7 (and 8..15) at one group of 4 k: x_r = the rows' values, w_c = the lane's columns.
fn step_lo(w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
           x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) {
  acc0 = row_acc(x0, w0, w1, w2, w3, acc0); acc1 = row_acc(x1, w0, w1, w2, w3, acc1);
  acc2 = row_acc(x2, w0, w1, w2, w3, acc2); acc3 = row_acc(x3, w0, w1, w2, w3, acc3);
  acc4 = row_acc(x4, w0, w1, w2, w3, acc4); acc5 = row_acc(x5, w0, w1, w2, w3, acc5);
  acc6 = row_acc(x6, w0, w1, w2, w3, acc6); acc7 = row_acc(x7, w0, w1, w2, w3, acc7);
}
#if ROWS_16
fn step_hi(w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
           x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) {
  acc8 = row_acc(x0, w0, w1, w2, w3, acc8); acc9 = row_acc(x1, w0, w1, w2, w3, acc9);
  acc10 = row_acc(x2, w0, w1, w2, w3, acc10); acc11 = row_acc(x3, w0, w1, w2, w3, acc11);
  acc12 = row_acc(x4, w0, w1, w2, w3, acc12); acc13 = row_acc(x5, w0, w1, w2, w3, acc13);
  acc14 = row_acc(x6, w0, w1, w2, w3, acc14); acc15 = row_acc(x7, w0, w1, w2, w3, acc15);
}
#endif
#if ROWS_32
fn step_r16(w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
           x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) {
  acc16 = row_acc(x0, w0, w1, w2, w3, acc16); acc17 = row_acc(x1, w0, w1, w2, w3, acc17);
  acc18 = row_acc(x2, w0, w1, w2, w3, acc18); acc19 = row_acc(x3, w0, w1, w2, w3, acc19);
  acc20 = row_acc(x4, w0, w1, w2, w3, acc20); acc21 = row_acc(x5, w0, w1, w2, w3, acc21);
  acc22 = row_acc(x6, w0, w1, w2, w3, acc22); acc23 = row_acc(x7, w0, w1, w2, w3, acc23);
}
fn step_r24(w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
           x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32>) {
  acc24 = row_acc(x0, w0, w1, w2, w3, acc24); acc25 = row_acc(x1, w0, w1, w2, w3, acc25);
  acc26 = row_acc(x2, w0, w1, w2, w3, acc26); acc27 = row_acc(x3, w0, w1, w2, w3, acc27);
  acc28 = row_acc(x4, w0, w1, w2, w3, acc28); acc29 = row_acc(x5, w0, w1, w2, w3, acc29);
  acc30 = row_acc(x6, w0, w1, w2, w3, acc30); acc31 = row_acc(x7, w0, w1, w2, w3, acc31);
}
#endif

fn write_row(batch: u32, row: u32, col0: u32, acc: vec4<f32>) {
#if A_INT8
  // torchao's order: the integer sum times the token's scale, then (SCALE_IN_EPILOGUE) the channel's.
  let v = acc * a_scales[min(row, params.m - 1u)];
#else
  let v = acc;
#endif
  for (var c = 0u; c < 4u; c = c + 1u) { write_y(batch, row, col0 + c, v[c]); }
}

#include "include/cpu_acc_row.wgsl"

// Row `row`'s 4 k at q (the K tail, where every lane loads its own rows).
fn a_row(ab: u32, row: u32, k4: u32, q: u32) -> vec4<f32> {
  return a4(ab + row * k4 + q, a_zero(row));
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let col0 = gid.x * 4u;
  let row0 = wid.y * ROWS;
  let batch = wid.z;
  // Columns past n and rows past m read clamped (valid) addresses; write_y drops their results. No
  // early return: every lane must take part in the broadcasts.
  let last_col = params.n - 1u;
  let last_row = params.m - 1u;
  let k4 = params.k / 4u;
  // Float B: rows of a batch are offset by whole rows (b_batch_stride is a multiple of K).
  bcol = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last_col)) + batch * params.b_batch_stride / max(params.k, 1u);
  let ab = batch * params.a_batch_stride / 4u;
#if ROWS_32
  // The rows this lane loads (x_i holds row i on lanes 0-3, row 16 + i on lanes 4-7) and its 4 k of a chunk.
  let lrow = row0 + 16u * (lane / 4u);
  let lq = lane % 4u;
#else
  let lrow = row0;
  let lq = lane;
#endif
  let r0 = ab + min(lrow + 0u, last_row) * k4;
  let z0 = a_zero(min(lrow + 0u, last_row));
  let r1 = ab + min(lrow + 1u, last_row) * k4;
  let z1 = a_zero(min(lrow + 1u, last_row));
  let r2 = ab + min(lrow + 2u, last_row) * k4;
  let z2 = a_zero(min(lrow + 2u, last_row));
  let r3 = ab + min(lrow + 3u, last_row) * k4;
  let z3 = a_zero(min(lrow + 3u, last_row));
  let r4 = ab + min(lrow + 4u, last_row) * k4;
  let z4 = a_zero(min(lrow + 4u, last_row));
  let r5 = ab + min(lrow + 5u, last_row) * k4;
  let z5 = a_zero(min(lrow + 5u, last_row));
  let r6 = ab + min(lrow + 6u, last_row) * k4;
  let z6 = a_zero(min(lrow + 6u, last_row));
  let r7 = ab + min(lrow + 7u, last_row) * k4;
  let z7 = a_zero(min(lrow + 7u, last_row));
#if ROWS_16
  let r8 = ab + min(lrow + 8u, last_row) * k4;
  let z8 = a_zero(min(lrow + 8u, last_row));
  let r9 = ab + min(lrow + 9u, last_row) * k4;
  let z9 = a_zero(min(lrow + 9u, last_row));
  let r10 = ab + min(lrow + 10u, last_row) * k4;
  let z10 = a_zero(min(lrow + 10u, last_row));
  let r11 = ab + min(lrow + 11u, last_row) * k4;
  let z11 = a_zero(min(lrow + 11u, last_row));
  let r12 = ab + min(lrow + 12u, last_row) * k4;
  let z12 = a_zero(min(lrow + 12u, last_row));
  let r13 = ab + min(lrow + 13u, last_row) * k4;
  let z13 = a_zero(min(lrow + 13u, last_row));
  let r14 = ab + min(lrow + 14u, last_row) * k4;
  let z14 = a_zero(min(lrow + 14u, last_row));
  let r15 = ab + min(lrow + 15u, last_row) * k4;
  let z15 = a_zero(min(lrow + 15u, last_row));
#endif
  let k_main = params.k / K_CHUNK * K_CHUNK;
  for (var k0 = 0u; k0 < k_main; k0 = k0 + K_CHUNK) {
    let q0 = k0 / 4u;
    // Lane l holds k0 + 4·lq .. + 3 of its rows.
    let ql = q0 + lq;
#if B_INT4
    if (k0 % params.group_size == 0u) { load_group(k0 / params.group_size); }
#endif
    let x0 = a4(r0 + ql, z0);
    let x1 = a4(r1 + ql, z1);
    let x2 = a4(r2 + ql, z2);
    let x3 = a4(r3 + ql, z3);
    let x4 = a4(r4 + ql, z4);
    let x5 = a4(r5 + ql, z5);
    let x6 = a4(r6 + ql, z6);
    let x7 = a4(r7 + ql, z7);
#if ROWS_16
    let x8 = a4(r8 + ql, z8);
    let x9 = a4(r9 + ql, z9);
    let x10 = a4(r10 + ql, z10);
    let x11 = a4(r11 + ql, z11);
    let x12 = a4(r12 + ql, z12);
    let x13 = a4(r13 + ql, z13);
    let x14 = a4(r14 + ql, z14);
    let x15 = a4(r15 + ql, z15);
#endif
#if ROWS_32
#if B_INT4
    load_b_words(q0 + 0u);
#endif
    { let w = b_cols(q0 + 0u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 0u), subgroupBroadcast(x1, 0u), subgroupBroadcast(x2, 0u), subgroupBroadcast(x3, 0u), subgroupBroadcast(x4, 0u), subgroupBroadcast(x5, 0u), subgroupBroadcast(x6, 0u), subgroupBroadcast(x7, 0u));
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 0u), subgroupBroadcast(x9, 0u), subgroupBroadcast(x10, 0u), subgroupBroadcast(x11, 0u), subgroupBroadcast(x12, 0u), subgroupBroadcast(x13, 0u), subgroupBroadcast(x14, 0u), subgroupBroadcast(x15, 0u));
      step_r16(w0, w1, w2, w3, subgroupBroadcast(x0, 4u), subgroupBroadcast(x1, 4u), subgroupBroadcast(x2, 4u), subgroupBroadcast(x3, 4u), subgroupBroadcast(x4, 4u), subgroupBroadcast(x5, 4u), subgroupBroadcast(x6, 4u), subgroupBroadcast(x7, 4u));
      step_r24(w0, w1, w2, w3, subgroupBroadcast(x8, 4u), subgroupBroadcast(x9, 4u), subgroupBroadcast(x10, 4u), subgroupBroadcast(x11, 4u), subgroupBroadcast(x12, 4u), subgroupBroadcast(x13, 4u), subgroupBroadcast(x14, 4u), subgroupBroadcast(x15, 4u));
    }
    { let w = b_cols(q0 + 1u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 1u), subgroupBroadcast(x1, 1u), subgroupBroadcast(x2, 1u), subgroupBroadcast(x3, 1u), subgroupBroadcast(x4, 1u), subgroupBroadcast(x5, 1u), subgroupBroadcast(x6, 1u), subgroupBroadcast(x7, 1u));
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 1u), subgroupBroadcast(x9, 1u), subgroupBroadcast(x10, 1u), subgroupBroadcast(x11, 1u), subgroupBroadcast(x12, 1u), subgroupBroadcast(x13, 1u), subgroupBroadcast(x14, 1u), subgroupBroadcast(x15, 1u));
      step_r16(w0, w1, w2, w3, subgroupBroadcast(x0, 5u), subgroupBroadcast(x1, 5u), subgroupBroadcast(x2, 5u), subgroupBroadcast(x3, 5u), subgroupBroadcast(x4, 5u), subgroupBroadcast(x5, 5u), subgroupBroadcast(x6, 5u), subgroupBroadcast(x7, 5u));
      step_r24(w0, w1, w2, w3, subgroupBroadcast(x8, 5u), subgroupBroadcast(x9, 5u), subgroupBroadcast(x10, 5u), subgroupBroadcast(x11, 5u), subgroupBroadcast(x12, 5u), subgroupBroadcast(x13, 5u), subgroupBroadcast(x14, 5u), subgroupBroadcast(x15, 5u));
    }
#if B_INT4
    load_b_words(q0 + 2u);
#endif
    { let w = b_cols(q0 + 2u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 2u), subgroupBroadcast(x1, 2u), subgroupBroadcast(x2, 2u), subgroupBroadcast(x3, 2u), subgroupBroadcast(x4, 2u), subgroupBroadcast(x5, 2u), subgroupBroadcast(x6, 2u), subgroupBroadcast(x7, 2u));
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 2u), subgroupBroadcast(x9, 2u), subgroupBroadcast(x10, 2u), subgroupBroadcast(x11, 2u), subgroupBroadcast(x12, 2u), subgroupBroadcast(x13, 2u), subgroupBroadcast(x14, 2u), subgroupBroadcast(x15, 2u));
      step_r16(w0, w1, w2, w3, subgroupBroadcast(x0, 6u), subgroupBroadcast(x1, 6u), subgroupBroadcast(x2, 6u), subgroupBroadcast(x3, 6u), subgroupBroadcast(x4, 6u), subgroupBroadcast(x5, 6u), subgroupBroadcast(x6, 6u), subgroupBroadcast(x7, 6u));
      step_r24(w0, w1, w2, w3, subgroupBroadcast(x8, 6u), subgroupBroadcast(x9, 6u), subgroupBroadcast(x10, 6u), subgroupBroadcast(x11, 6u), subgroupBroadcast(x12, 6u), subgroupBroadcast(x13, 6u), subgroupBroadcast(x14, 6u), subgroupBroadcast(x15, 6u));
    }
    { let w = b_cols(q0 + 3u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 3u), subgroupBroadcast(x1, 3u), subgroupBroadcast(x2, 3u), subgroupBroadcast(x3, 3u), subgroupBroadcast(x4, 3u), subgroupBroadcast(x5, 3u), subgroupBroadcast(x6, 3u), subgroupBroadcast(x7, 3u));
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 3u), subgroupBroadcast(x9, 3u), subgroupBroadcast(x10, 3u), subgroupBroadcast(x11, 3u), subgroupBroadcast(x12, 3u), subgroupBroadcast(x13, 3u), subgroupBroadcast(x14, 3u), subgroupBroadcast(x15, 3u));
      step_r16(w0, w1, w2, w3, subgroupBroadcast(x0, 7u), subgroupBroadcast(x1, 7u), subgroupBroadcast(x2, 7u), subgroupBroadcast(x3, 7u), subgroupBroadcast(x4, 7u), subgroupBroadcast(x5, 7u), subgroupBroadcast(x6, 7u), subgroupBroadcast(x7, 7u));
      step_r24(w0, w1, w2, w3, subgroupBroadcast(x8, 7u), subgroupBroadcast(x9, 7u), subgroupBroadcast(x10, 7u), subgroupBroadcast(x11, 7u), subgroupBroadcast(x12, 7u), subgroupBroadcast(x13, 7u), subgroupBroadcast(x14, 7u), subgroupBroadcast(x15, 7u));
    }
#else
#if B_INT4
    load_b_words(q0 + 0u);
#endif
    { let w = b_cols(q0 + 0u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 0u), subgroupBroadcast(x1, 0u), subgroupBroadcast(x2, 0u), subgroupBroadcast(x3, 0u), subgroupBroadcast(x4, 0u), subgroupBroadcast(x5, 0u), subgroupBroadcast(x6, 0u), subgroupBroadcast(x7, 0u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 0u), subgroupBroadcast(x9, 0u), subgroupBroadcast(x10, 0u), subgroupBroadcast(x11, 0u), subgroupBroadcast(x12, 0u), subgroupBroadcast(x13, 0u), subgroupBroadcast(x14, 0u), subgroupBroadcast(x15, 0u));
#endif
    }
    { let w = b_cols(q0 + 1u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 1u), subgroupBroadcast(x1, 1u), subgroupBroadcast(x2, 1u), subgroupBroadcast(x3, 1u), subgroupBroadcast(x4, 1u), subgroupBroadcast(x5, 1u), subgroupBroadcast(x6, 1u), subgroupBroadcast(x7, 1u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 1u), subgroupBroadcast(x9, 1u), subgroupBroadcast(x10, 1u), subgroupBroadcast(x11, 1u), subgroupBroadcast(x12, 1u), subgroupBroadcast(x13, 1u), subgroupBroadcast(x14, 1u), subgroupBroadcast(x15, 1u));
#endif
    }
#if B_INT4
    load_b_words(q0 + 2u);
#endif
    { let w = b_cols(q0 + 2u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 2u), subgroupBroadcast(x1, 2u), subgroupBroadcast(x2, 2u), subgroupBroadcast(x3, 2u), subgroupBroadcast(x4, 2u), subgroupBroadcast(x5, 2u), subgroupBroadcast(x6, 2u), subgroupBroadcast(x7, 2u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 2u), subgroupBroadcast(x9, 2u), subgroupBroadcast(x10, 2u), subgroupBroadcast(x11, 2u), subgroupBroadcast(x12, 2u), subgroupBroadcast(x13, 2u), subgroupBroadcast(x14, 2u), subgroupBroadcast(x15, 2u));
#endif
    }
    { let w = b_cols(q0 + 3u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 3u), subgroupBroadcast(x1, 3u), subgroupBroadcast(x2, 3u), subgroupBroadcast(x3, 3u), subgroupBroadcast(x4, 3u), subgroupBroadcast(x5, 3u), subgroupBroadcast(x6, 3u), subgroupBroadcast(x7, 3u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 3u), subgroupBroadcast(x9, 3u), subgroupBroadcast(x10, 3u), subgroupBroadcast(x11, 3u), subgroupBroadcast(x12, 3u), subgroupBroadcast(x13, 3u), subgroupBroadcast(x14, 3u), subgroupBroadcast(x15, 3u));
#endif
    }
#if B_INT4
    load_b_words(q0 + 4u);
#endif
    { let w = b_cols(q0 + 4u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 4u), subgroupBroadcast(x1, 4u), subgroupBroadcast(x2, 4u), subgroupBroadcast(x3, 4u), subgroupBroadcast(x4, 4u), subgroupBroadcast(x5, 4u), subgroupBroadcast(x6, 4u), subgroupBroadcast(x7, 4u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 4u), subgroupBroadcast(x9, 4u), subgroupBroadcast(x10, 4u), subgroupBroadcast(x11, 4u), subgroupBroadcast(x12, 4u), subgroupBroadcast(x13, 4u), subgroupBroadcast(x14, 4u), subgroupBroadcast(x15, 4u));
#endif
    }
    { let w = b_cols(q0 + 5u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 5u), subgroupBroadcast(x1, 5u), subgroupBroadcast(x2, 5u), subgroupBroadcast(x3, 5u), subgroupBroadcast(x4, 5u), subgroupBroadcast(x5, 5u), subgroupBroadcast(x6, 5u), subgroupBroadcast(x7, 5u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 5u), subgroupBroadcast(x9, 5u), subgroupBroadcast(x10, 5u), subgroupBroadcast(x11, 5u), subgroupBroadcast(x12, 5u), subgroupBroadcast(x13, 5u), subgroupBroadcast(x14, 5u), subgroupBroadcast(x15, 5u));
#endif
    }
#if B_INT4
    load_b_words(q0 + 6u);
#endif
    { let w = b_cols(q0 + 6u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 6u), subgroupBroadcast(x1, 6u), subgroupBroadcast(x2, 6u), subgroupBroadcast(x3, 6u), subgroupBroadcast(x4, 6u), subgroupBroadcast(x5, 6u), subgroupBroadcast(x6, 6u), subgroupBroadcast(x7, 6u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 6u), subgroupBroadcast(x9, 6u), subgroupBroadcast(x10, 6u), subgroupBroadcast(x11, 6u), subgroupBroadcast(x12, 6u), subgroupBroadcast(x13, 6u), subgroupBroadcast(x14, 6u), subgroupBroadcast(x15, 6u));
#endif
    }
    { let w = b_cols(q0 + 7u); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
      step_lo(w0, w1, w2, w3, subgroupBroadcast(x0, 7u), subgroupBroadcast(x1, 7u), subgroupBroadcast(x2, 7u), subgroupBroadcast(x3, 7u), subgroupBroadcast(x4, 7u), subgroupBroadcast(x5, 7u), subgroupBroadcast(x6, 7u), subgroupBroadcast(x7, 7u));
#if ROWS_16
      step_hi(w0, w1, w2, w3, subgroupBroadcast(x8, 7u), subgroupBroadcast(x9, 7u), subgroupBroadcast(x10, 7u), subgroupBroadcast(x11, 7u), subgroupBroadcast(x12, 7u), subgroupBroadcast(x13, 7u), subgroupBroadcast(x14, 7u), subgroupBroadcast(x15, 7u));
#endif
    }
#endif
  }
  // K % K_CHUNK tail, 4 k at a time with per-lane loads of every row (at most 7 steps).
  for (var q = k_main / 4u; q < k4; q = q + 1u) {
#if B_INT4
    load_b_words(q);
#endif
    let w = b_cols(q); let w0 = w[0]; let w1 = w[1]; let w2 = w[2]; let w3 = w[3];
    step_lo(w0, w1, w2, w3, a_row(ab, min(row0 + 0u, last_row), k4, q), a_row(ab, min(row0 + 1u, last_row), k4, q), a_row(ab, min(row0 + 2u, last_row), k4, q), a_row(ab, min(row0 + 3u, last_row), k4, q), a_row(ab, min(row0 + 4u, last_row), k4, q), a_row(ab, min(row0 + 5u, last_row), k4, q), a_row(ab, min(row0 + 6u, last_row), k4, q), a_row(ab, min(row0 + 7u, last_row), k4, q));
#if ROWS_16
    step_hi(w0, w1, w2, w3, a_row(ab, min(row0 + 8u, last_row), k4, q), a_row(ab, min(row0 + 9u, last_row), k4, q), a_row(ab, min(row0 + 10u, last_row), k4, q), a_row(ab, min(row0 + 11u, last_row), k4, q), a_row(ab, min(row0 + 12u, last_row), k4, q), a_row(ab, min(row0 + 13u, last_row), k4, q), a_row(ab, min(row0 + 14u, last_row), k4, q), a_row(ab, min(row0 + 15u, last_row), k4, q));
#endif
#if ROWS_32
    step_r16(w0, w1, w2, w3, a_row(ab, min(row0 + 16u, last_row), k4, q), a_row(ab, min(row0 + 17u, last_row), k4, q), a_row(ab, min(row0 + 18u, last_row), k4, q), a_row(ab, min(row0 + 19u, last_row), k4, q), a_row(ab, min(row0 + 20u, last_row), k4, q), a_row(ab, min(row0 + 21u, last_row), k4, q), a_row(ab, min(row0 + 22u, last_row), k4, q), a_row(ab, min(row0 + 23u, last_row), k4, q));
    step_r24(w0, w1, w2, w3, a_row(ab, min(row0 + 24u, last_row), k4, q), a_row(ab, min(row0 + 25u, last_row), k4, q), a_row(ab, min(row0 + 26u, last_row), k4, q), a_row(ab, min(row0 + 27u, last_row), k4, q), a_row(ab, min(row0 + 28u, last_row), k4, q), a_row(ab, min(row0 + 29u, last_row), k4, q), a_row(ab, min(row0 + 30u, last_row), k4, q), a_row(ab, min(row0 + 31u, last_row), k4, q));
#endif
  }
  // One write per row in a loop: the epilogue (with its run-time activation switch) is emitted once, not
  // 4·ROWS times; lavapipe's compile time grows steeply with the unrolled code.
  for (var i = 0u; i < ROWS; i = i + 1u) { write_row(batch, row0 + i, col0, acc_row(i)); }
}

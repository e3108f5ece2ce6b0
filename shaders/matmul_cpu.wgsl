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
// activation codes instead of floats (W8A8 / W4A8, see a4 below), scaled per row in write_row4.
// F16_WORDS reads f16 A and B as u32 pairs (a load per 2 halves instead of per half). ROWS_32 / ROWS_64 give a
// lane 32 / 64 rows, halving / quartering B's loads per FMA, with the subgroup split in lane groups of 16 rows
// (see K_CHUNK).
// Accumulators are named vec4s (one per row, one sum per column), module-private so the K tail's step
// functions can update them (never indexed dynamically). The main loop works row by row (chunk*): a row's
// whole chunk of k runs as one chain into its accumulator, so the 16-64 accumulators, which cannot all stay in
// registers, are reloaded and spilled once per chunk instead of once per 4 k, and the chunk's B values are read
// back from spill slots as folded FMA operands (lavapipe/LLVM asm: the 32-row loop lost 3/4 of its spill
// moves; 1.2-1.3× faster in f32). Measured ratios: kernels-bench/RESULTS.md.
enable subgroups;
#include "include/elem.wgsl"
#include "include/matmul_io.wgsl"

const SG: u32 = 8u;
#if ROWS_64
// 64 rows: four lane groups of 2 lanes, 16 rows each; a lane loads 8 k of its rows per chunk (x_i, y_i).
const K_CHUNK: u32 = 16u;
#else
#if ROWS_32
// 32 rows: lanes 0-3 load rows 0-15 and lanes 4-7 rows 16-31, each lane 4 k of them, so a chunk is 16 k and
// only 16 A vectors are live (as for 16 rows): the same loads per k as one lane group per 32 k, with the
// unrolled body no larger than the 16-row kernel's.
const K_CHUNK: u32 = 16u;
#else
const K_CHUNK: u32 = 4u * SG; // k values per subgroup-wide A load
#endif
#endif

// One accumulator per row: a sum per column of the lane's 4 (COLS_8: 8, as two vec4s).
#if COLS_8
alias Acc = mat2x4<f32>;
#else
alias Acc = vec4<f32>;
#endif
// acc0 .. acc{ROWS - 1}: include/cpu_acc_row.wgsl.

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
fn a4(i: u32, zero: f32) -> vec4<f32> { return unpack_int8x4(a[i]) - zero; }
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
#if COLS_8
// COLS_8 (float B only, with ROWS_64): the lane's other 4 columns.
var<private> bcol2: vec4<u32>;
fn b_cols2(q: u32) -> mat4x4<f32> {
  let k4 = params.k / 4u;
  let r = bcol2 * k4 + q;
#if F16_WORDS
  return mat4x4<f32>(f16x4(b[r.x]), f16x4(b[r.y]), f16x4(b[r.z]), f16x4(b[r.w]));
#else
  return mat4x4<f32>(vec4<f32>(b[r.x]), vec4<f32>(b[r.y]), vec4<f32>(b[r.z]), vec4<f32>(b[r.w]));
#endif
}
#endif
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

// k = 4q .. 4q + 3 of one column: half q % 2 of its word (quant_formats.wgsl).
fn dequant4(word: u32, q: u32, scale: f32, zero: f32) -> vec4<f32> { return dequant_int4x4(word, q & 1u, scale, zero); }
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
  return mat4x4<f32>(unpack_int8x4(b[r.x]), unpack_int8x4(b[r.y]), unpack_int8x4(b[r.z]), unpack_int8x4(b[r.w]));
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

// One row's 4 steps of 4 k into acc: x0..x3 = the row's values at each step (already broadcast), wa..wd = the lane's
// 4 columns at each step. One dependent chain, so the accumulator is reloaded and spilled once per chunk.
fn chain4(acc: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>,
          wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>) -> vec4<f32> {
  let s0 = row_acc(x0, wa[0], wa[1], wa[2], wa[3], acc);
  let s1 = row_acc(x1, wb[0], wb[1], wb[2], wb[3], s0);
  let s2 = row_acc(x2, wc[0], wc[1], wc[2], wc[3], s1);
  return row_acc(x3, wd[0], wd[1], wd[2], wd[3], s2);
}
#if ROWS_64
#else
#if ROWS_32
// One row's 16 k of a chunk (x: its 4 k on each of lanes 0-3, or 4-7 for chunk_hi) against the lane's 4 columns
// (wa..wd: 4 k each). subgroupBroadcast takes constant lanes only, hence one function per lane group.
fn chunk_lo(acc: vec4<f32>, x: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>) -> vec4<f32> {
  return chain4(acc, subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u), wa, wb, wc, wd);
}
fn chunk_hi(acc: vec4<f32>, x: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>) -> vec4<f32> {
  return chain4(acc, subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u), wa, wb, wc, wd);
}
#endif
#endif

// One row's 32 k of a chunk (x: its 4 k on each of the 8 lanes) against the lane's 4 columns (wa..wh: 4 k each).
fn chunk8(acc: vec4<f32>, x: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
          we: mat4x4<f32>, wf: mat4x4<f32>, wg: mat4x4<f32>, wh: mat4x4<f32>) -> vec4<f32> {
  let s3 = chain4(acc, subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u), wa, wb, wc, wd);
  return chain4(s3, subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u), we, wf, wg, wh);
}

#if COLS_8
// One row's 4 k (x) against the lane's 8 columns (w: the first 4, v: the last 4).
fn row_acc8(x: vec4<f32>, w: mat4x4<f32>, v: mat4x4<f32>, acc: Acc) -> Acc {
  return Acc(row_acc(x, w[0], w[1], w[2], w[3], acc[0]), row_acc(x, v[0], v[1], v[2], v[3], acc[1]));
}
// One row's 16 k of a chunk against the lane's 8 columns: x0, y0, x1, y1 = its values at each 4-k step (already
// broadcast), wa..wd the first 4 columns and va..vd the last 4 at each step; two independent chains.
fn chain8c(acc: Acc, x0: vec4<f32>, y0: vec4<f32>, x1: vec4<f32>, y1: vec4<f32>,
           wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
           va: mat4x4<f32>, vb: mat4x4<f32>, vc: mat4x4<f32>, vd: mat4x4<f32>) -> Acc {
  return row_acc8(y1, wd, vd, row_acc8(x1, wc, vc, row_acc8(y0, wb, vb, row_acc8(x0, wa, va, acc))));
}
// Lane group g (x then y: 4 k each, on lane 2g then 2g + 1): one function per group, broadcast lanes are constants.
fn chunk8c_g0(acc: Acc, x: vec4<f32>, y: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
               va: mat4x4<f32>, vb: mat4x4<f32>, vc: mat4x4<f32>, vd: mat4x4<f32>) -> Acc {
  return chain8c(acc, subgroupBroadcast(x, 0u), subgroupBroadcast(y, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(y, 1u), wa, wb, wc, wd, va, vb, vc, vd);
}
fn chunk8c_g1(acc: Acc, x: vec4<f32>, y: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
               va: mat4x4<f32>, vb: mat4x4<f32>, vc: mat4x4<f32>, vd: mat4x4<f32>) -> Acc {
  return chain8c(acc, subgroupBroadcast(x, 2u), subgroupBroadcast(y, 2u), subgroupBroadcast(x, 3u), subgroupBroadcast(y, 3u), wa, wb, wc, wd, va, vb, vc, vd);
}
fn chunk8c_g2(acc: Acc, x: vec4<f32>, y: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
               va: mat4x4<f32>, vb: mat4x4<f32>, vc: mat4x4<f32>, vd: mat4x4<f32>) -> Acc {
  return chain8c(acc, subgroupBroadcast(x, 4u), subgroupBroadcast(y, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(y, 5u), wa, wb, wc, wd, va, vb, vc, vd);
}
fn chunk8c_g3(acc: Acc, x: vec4<f32>, y: vec4<f32>, wa: mat4x4<f32>, wb: mat4x4<f32>, wc: mat4x4<f32>, wd: mat4x4<f32>,
               va: mat4x4<f32>, vb: mat4x4<f32>, vc: mat4x4<f32>, vd: mat4x4<f32>) -> Acc {
  return chain8c(acc, subgroupBroadcast(x, 6u), subgroupBroadcast(y, 6u), subgroupBroadcast(x, 7u), subgroupBroadcast(y, 7u), wa, wb, wc, wd, va, vb, vc, vd);
}
#endif
// Row `row` (< m) of the lane's columns; t: their column terms (ColumnTerms in matmul_io.wgsl).
fn write_row4(batch: u32, row: u32, col0: u32, acc: vec4<f32>, t: ColumnTerms) {
#if A_INT8
  // torchao's order: the integer sum times the token's scale, then (SCALE_IN_EPILOGUE) the channel's.
  write_y4(batch, row, col0, acc * a_scales[row], t);
#else
  write_y4(batch, row, col0, acc, t);
#endif
}

#include "include/cpu_acc_row.wgsl"

// Row `row`'s 4 k at q (the K tail, where every lane loads its own rows).
fn a_row(ab: u32, row: u32, k4: u32, q: u32) -> vec4<f32> {
  return a4(ab + row * k4 + q, a_zero(row));
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
#if COLS_8
  let col0 = gid.x * 8u;
#else
  let col0 = gid.x * 4u;
#endif
  let row0 = wid.y * ROWS;
  let batch = wid.z;
  // Columns past n and rows past m read clamped (valid) addresses; write_y drops their results. No
  // early return: every lane must take part in the broadcasts.
  let last_col = params.n - 1u;
  let last_row = params.m - 1u;
  let k4 = params.k / 4u;
  // Float B: rows of a batch are offset by whole rows (b_batch_stride is a multiple of K).
  bcol = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last_col)) + batch * params.b_batch_stride / max(params.k, 1u);
#if COLS_8
  bcol2 = min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(last_col)) + batch * params.b_batch_stride / max(params.k, 1u);
#endif
  let ab = batch * params.a_batch_stride / 4u;
#if ROWS_64
  // The rows this lane loads (x_i, y_i hold row 16·(lane / 2) + i) and its 8 k of a chunk.
  let lrow = row0 + 16u * (lane / 2u);
  let lq = lane % 2u;
#else
#if ROWS_32
  // The rows this lane loads (x_i holds row i on lanes 0-3, row 16 + i on lanes 4-7) and its 4 k of a chunk.
  let lrow = row0 + 16u * (lane / 4u);
  let lq = lane % 4u;
#else
  let lrow = row0;
  let lq = lane;
#endif
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
#if ROWS_64
    // Lane l holds k0 + 8·lq .. + 7 of its rows: 4 in x_i, 4 in y_i.
    let ql = q0 + 2u * lq;
#else
    let ql = q0 + lq;
#endif
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
#if ROWS_64
    let y0 = a4(r0 + ql + 1u, z0);
    let y1 = a4(r1 + ql + 1u, z1);
    let y2 = a4(r2 + ql + 1u, z2);
    let y3 = a4(r3 + ql + 1u, z3);
    let y4 = a4(r4 + ql + 1u, z4);
    let y5 = a4(r5 + ql + 1u, z5);
    let y6 = a4(r6 + ql + 1u, z6);
    let y7 = a4(r7 + ql + 1u, z7);
    let y8 = a4(r8 + ql + 1u, z8);
    let y9 = a4(r9 + ql + 1u, z9);
    let y10 = a4(r10 + ql + 1u, z10);
    let y11 = a4(r11 + ql + 1u, z11);
    let y12 = a4(r12 + ql + 1u, z12);
    let y13 = a4(r13 + ql + 1u, z13);
    let y14 = a4(r14 + ql + 1u, z14);
    let y15 = a4(r15 + ql + 1u, z15);
    let wa = b_cols(q0); let wb = b_cols(q0 + 1u); let wc = b_cols(q0 + 2u); let wd = b_cols(q0 + 3u);
    let va = b_cols2(q0); let vb = b_cols2(q0 + 1u); let vc = b_cols2(q0 + 2u); let vd = b_cols2(q0 + 3u);
    acc0 = chunk8c_g0(acc0, x0, y0, wa, wb, wc, wd, va, vb, vc, vd);
    acc1 = chunk8c_g0(acc1, x1, y1, wa, wb, wc, wd, va, vb, vc, vd);
    acc2 = chunk8c_g0(acc2, x2, y2, wa, wb, wc, wd, va, vb, vc, vd);
    acc3 = chunk8c_g0(acc3, x3, y3, wa, wb, wc, wd, va, vb, vc, vd);
    acc4 = chunk8c_g0(acc4, x4, y4, wa, wb, wc, wd, va, vb, vc, vd);
    acc5 = chunk8c_g0(acc5, x5, y5, wa, wb, wc, wd, va, vb, vc, vd);
    acc6 = chunk8c_g0(acc6, x6, y6, wa, wb, wc, wd, va, vb, vc, vd);
    acc7 = chunk8c_g0(acc7, x7, y7, wa, wb, wc, wd, va, vb, vc, vd);
    acc8 = chunk8c_g0(acc8, x8, y8, wa, wb, wc, wd, va, vb, vc, vd);
    acc9 = chunk8c_g0(acc9, x9, y9, wa, wb, wc, wd, va, vb, vc, vd);
    acc10 = chunk8c_g0(acc10, x10, y10, wa, wb, wc, wd, va, vb, vc, vd);
    acc11 = chunk8c_g0(acc11, x11, y11, wa, wb, wc, wd, va, vb, vc, vd);
    acc12 = chunk8c_g0(acc12, x12, y12, wa, wb, wc, wd, va, vb, vc, vd);
    acc13 = chunk8c_g0(acc13, x13, y13, wa, wb, wc, wd, va, vb, vc, vd);
    acc14 = chunk8c_g0(acc14, x14, y14, wa, wb, wc, wd, va, vb, vc, vd);
    acc15 = chunk8c_g0(acc15, x15, y15, wa, wb, wc, wd, va, vb, vc, vd);
    acc16 = chunk8c_g1(acc16, x0, y0, wa, wb, wc, wd, va, vb, vc, vd);
    acc17 = chunk8c_g1(acc17, x1, y1, wa, wb, wc, wd, va, vb, vc, vd);
    acc18 = chunk8c_g1(acc18, x2, y2, wa, wb, wc, wd, va, vb, vc, vd);
    acc19 = chunk8c_g1(acc19, x3, y3, wa, wb, wc, wd, va, vb, vc, vd);
    acc20 = chunk8c_g1(acc20, x4, y4, wa, wb, wc, wd, va, vb, vc, vd);
    acc21 = chunk8c_g1(acc21, x5, y5, wa, wb, wc, wd, va, vb, vc, vd);
    acc22 = chunk8c_g1(acc22, x6, y6, wa, wb, wc, wd, va, vb, vc, vd);
    acc23 = chunk8c_g1(acc23, x7, y7, wa, wb, wc, wd, va, vb, vc, vd);
    acc24 = chunk8c_g1(acc24, x8, y8, wa, wb, wc, wd, va, vb, vc, vd);
    acc25 = chunk8c_g1(acc25, x9, y9, wa, wb, wc, wd, va, vb, vc, vd);
    acc26 = chunk8c_g1(acc26, x10, y10, wa, wb, wc, wd, va, vb, vc, vd);
    acc27 = chunk8c_g1(acc27, x11, y11, wa, wb, wc, wd, va, vb, vc, vd);
    acc28 = chunk8c_g1(acc28, x12, y12, wa, wb, wc, wd, va, vb, vc, vd);
    acc29 = chunk8c_g1(acc29, x13, y13, wa, wb, wc, wd, va, vb, vc, vd);
    acc30 = chunk8c_g1(acc30, x14, y14, wa, wb, wc, wd, va, vb, vc, vd);
    acc31 = chunk8c_g1(acc31, x15, y15, wa, wb, wc, wd, va, vb, vc, vd);
    acc32 = chunk8c_g2(acc32, x0, y0, wa, wb, wc, wd, va, vb, vc, vd);
    acc33 = chunk8c_g2(acc33, x1, y1, wa, wb, wc, wd, va, vb, vc, vd);
    acc34 = chunk8c_g2(acc34, x2, y2, wa, wb, wc, wd, va, vb, vc, vd);
    acc35 = chunk8c_g2(acc35, x3, y3, wa, wb, wc, wd, va, vb, vc, vd);
    acc36 = chunk8c_g2(acc36, x4, y4, wa, wb, wc, wd, va, vb, vc, vd);
    acc37 = chunk8c_g2(acc37, x5, y5, wa, wb, wc, wd, va, vb, vc, vd);
    acc38 = chunk8c_g2(acc38, x6, y6, wa, wb, wc, wd, va, vb, vc, vd);
    acc39 = chunk8c_g2(acc39, x7, y7, wa, wb, wc, wd, va, vb, vc, vd);
    acc40 = chunk8c_g2(acc40, x8, y8, wa, wb, wc, wd, va, vb, vc, vd);
    acc41 = chunk8c_g2(acc41, x9, y9, wa, wb, wc, wd, va, vb, vc, vd);
    acc42 = chunk8c_g2(acc42, x10, y10, wa, wb, wc, wd, va, vb, vc, vd);
    acc43 = chunk8c_g2(acc43, x11, y11, wa, wb, wc, wd, va, vb, vc, vd);
    acc44 = chunk8c_g2(acc44, x12, y12, wa, wb, wc, wd, va, vb, vc, vd);
    acc45 = chunk8c_g2(acc45, x13, y13, wa, wb, wc, wd, va, vb, vc, vd);
    acc46 = chunk8c_g2(acc46, x14, y14, wa, wb, wc, wd, va, vb, vc, vd);
    acc47 = chunk8c_g2(acc47, x15, y15, wa, wb, wc, wd, va, vb, vc, vd);
    acc48 = chunk8c_g3(acc48, x0, y0, wa, wb, wc, wd, va, vb, vc, vd);
    acc49 = chunk8c_g3(acc49, x1, y1, wa, wb, wc, wd, va, vb, vc, vd);
    acc50 = chunk8c_g3(acc50, x2, y2, wa, wb, wc, wd, va, vb, vc, vd);
    acc51 = chunk8c_g3(acc51, x3, y3, wa, wb, wc, wd, va, vb, vc, vd);
    acc52 = chunk8c_g3(acc52, x4, y4, wa, wb, wc, wd, va, vb, vc, vd);
    acc53 = chunk8c_g3(acc53, x5, y5, wa, wb, wc, wd, va, vb, vc, vd);
    acc54 = chunk8c_g3(acc54, x6, y6, wa, wb, wc, wd, va, vb, vc, vd);
    acc55 = chunk8c_g3(acc55, x7, y7, wa, wb, wc, wd, va, vb, vc, vd);
    acc56 = chunk8c_g3(acc56, x8, y8, wa, wb, wc, wd, va, vb, vc, vd);
    acc57 = chunk8c_g3(acc57, x9, y9, wa, wb, wc, wd, va, vb, vc, vd);
    acc58 = chunk8c_g3(acc58, x10, y10, wa, wb, wc, wd, va, vb, vc, vd);
    acc59 = chunk8c_g3(acc59, x11, y11, wa, wb, wc, wd, va, vb, vc, vd);
    acc60 = chunk8c_g3(acc60, x12, y12, wa, wb, wc, wd, va, vb, vc, vd);
    acc61 = chunk8c_g3(acc61, x13, y13, wa, wb, wc, wd, va, vb, vc, vd);
    acc62 = chunk8c_g3(acc62, x14, y14, wa, wb, wc, wd, va, vb, vc, vd);
    acc63 = chunk8c_g3(acc63, x15, y15, wa, wb, wc, wd, va, vb, vc, vd);
#else
#if ROWS_32
#if B_INT4
    load_b_words(q0 + 0u);
#endif
    let wa = b_cols(q0 + 0u);
    let wb = b_cols(q0 + 1u);
#if B_INT4
    load_b_words(q0 + 2u);
#endif
    let wc = b_cols(q0 + 2u);
    let wd = b_cols(q0 + 3u);
    acc0 = chunk_lo(acc0, x0, wa, wb, wc, wd); acc1 = chunk_lo(acc1, x1, wa, wb, wc, wd);
    acc2 = chunk_lo(acc2, x2, wa, wb, wc, wd); acc3 = chunk_lo(acc3, x3, wa, wb, wc, wd);
    acc4 = chunk_lo(acc4, x4, wa, wb, wc, wd); acc5 = chunk_lo(acc5, x5, wa, wb, wc, wd);
    acc6 = chunk_lo(acc6, x6, wa, wb, wc, wd); acc7 = chunk_lo(acc7, x7, wa, wb, wc, wd);
    acc8 = chunk_lo(acc8, x8, wa, wb, wc, wd); acc9 = chunk_lo(acc9, x9, wa, wb, wc, wd);
    acc10 = chunk_lo(acc10, x10, wa, wb, wc, wd); acc11 = chunk_lo(acc11, x11, wa, wb, wc, wd);
    acc12 = chunk_lo(acc12, x12, wa, wb, wc, wd); acc13 = chunk_lo(acc13, x13, wa, wb, wc, wd);
    acc14 = chunk_lo(acc14, x14, wa, wb, wc, wd); acc15 = chunk_lo(acc15, x15, wa, wb, wc, wd);
    acc16 = chunk_hi(acc16, x0, wa, wb, wc, wd); acc17 = chunk_hi(acc17, x1, wa, wb, wc, wd);
    acc18 = chunk_hi(acc18, x2, wa, wb, wc, wd); acc19 = chunk_hi(acc19, x3, wa, wb, wc, wd);
    acc20 = chunk_hi(acc20, x4, wa, wb, wc, wd); acc21 = chunk_hi(acc21, x5, wa, wb, wc, wd);
    acc22 = chunk_hi(acc22, x6, wa, wb, wc, wd); acc23 = chunk_hi(acc23, x7, wa, wb, wc, wd);
    acc24 = chunk_hi(acc24, x8, wa, wb, wc, wd); acc25 = chunk_hi(acc25, x9, wa, wb, wc, wd);
    acc26 = chunk_hi(acc26, x10, wa, wb, wc, wd); acc27 = chunk_hi(acc27, x11, wa, wb, wc, wd);
    acc28 = chunk_hi(acc28, x12, wa, wb, wc, wd); acc29 = chunk_hi(acc29, x13, wa, wb, wc, wd);
    acc30 = chunk_hi(acc30, x14, wa, wb, wc, wd); acc31 = chunk_hi(acc31, x15, wa, wb, wc, wd);
#else
#if B_INT4
    load_b_words(q0 + 0u);
#endif
    let wa = b_cols(q0 + 0u);
    let wb = b_cols(q0 + 1u);
#if B_INT4
    load_b_words(q0 + 2u);
#endif
    let wc = b_cols(q0 + 2u);
    let wd = b_cols(q0 + 3u);
#if B_INT4
    load_b_words(q0 + 4u);
#endif
    let we = b_cols(q0 + 4u);
    let wf = b_cols(q0 + 5u);
#if B_INT4
    load_b_words(q0 + 6u);
#endif
    let wg = b_cols(q0 + 6u);
    let wh = b_cols(q0 + 7u);
    acc0 = chunk8(acc0, x0, wa, wb, wc, wd, we, wf, wg, wh); acc1 = chunk8(acc1, x1, wa, wb, wc, wd, we, wf, wg, wh);
    acc2 = chunk8(acc2, x2, wa, wb, wc, wd, we, wf, wg, wh); acc3 = chunk8(acc3, x3, wa, wb, wc, wd, we, wf, wg, wh);
    acc4 = chunk8(acc4, x4, wa, wb, wc, wd, we, wf, wg, wh); acc5 = chunk8(acc5, x5, wa, wb, wc, wd, we, wf, wg, wh);
    acc6 = chunk8(acc6, x6, wa, wb, wc, wd, we, wf, wg, wh); acc7 = chunk8(acc7, x7, wa, wb, wc, wd, we, wf, wg, wh);
#if ROWS_16
    acc8 = chunk8(acc8, x8, wa, wb, wc, wd, we, wf, wg, wh); acc9 = chunk8(acc9, x9, wa, wb, wc, wd, we, wf, wg, wh);
    acc10 = chunk8(acc10, x10, wa, wb, wc, wd, we, wf, wg, wh); acc11 = chunk8(acc11, x11, wa, wb, wc, wd, we, wf, wg, wh);
    acc12 = chunk8(acc12, x12, wa, wb, wc, wd, we, wf, wg, wh); acc13 = chunk8(acc13, x13, wa, wb, wc, wd, we, wf, wg, wh);
    acc14 = chunk8(acc14, x14, wa, wb, wc, wd, we, wf, wg, wh); acc15 = chunk8(acc15, x15, wa, wb, wc, wd, we, wf, wg, wh);
#endif
#endif
#endif
  }
  // The K % K_CHUNK tail (at most 7 steps of 4 k; never for K a multiple of 32): every lane loads its own rows, one
  // row at a time into an array copy of the accumulators. A loop, not ROWS unrolled copies: this code runs only for
  // such K, while lavapipe compiles every copy's per-lane loads (the 64-row kernel's unrolled tail held more of them
  // than its main loop, and its first dispatch took 26 s). row_count is not a constant, so the loop stays a loop.
  var rows = acc_rows();
  let row_count = min(ROWS, params.m - row0);
  for (var q = k_main / 4u; q < k4; q = q + 1u) {
#if B_INT4
    load_b_words(q);
#endif
    let w = b_cols(q);
#if COLS_8
    let v = b_cols2(q);
#endif
    for (var i = 0u; i < row_count; i = i + 1u) {
      let x = a_row(ab, row0 + i, k4, q);
#if COLS_8
      rows[i] = row_acc8(x, w, v, rows[i]);
#else
      rows[i] = row_acc(x, w[0], w[1], w[2], w[3], rows[i]);
#endif
    }
  }
  // One write per row in a loop: the epilogue (with its run-time activation switch) is emitted once, not
  // 4·ROWS times; lavapipe's compile time grows steeply with the unrolled code. The loop reads the accumulators
  // from an array (acc_rows), not through acc_row's switch over ROWS variables: 1.05× at 4096×320×1280 and
  // 1.14× at 4096×320×320 on the 64-row kernel (interleaved); conv2d_cpu measured level and keeps acc_row.
  // The column terms (scale, bias) are loaded once per lane, and rows past m are skipped by the loop bound (uniform
  // across the subgroup): per element, write_y's bounds checks and bias loads had cost about a third of the time
  // at K = 320 (4096×16×1280 took 36 ms against 146 ms at K = 320).
#if COLS_8
  let terms_lo = column_terms(col0);
  let terms_hi = column_terms(col0 + 4u);
  for (var i = 0u; i < row_count; i = i + 1u) {
    write_row4(batch, row0 + i, col0, rows[i][0], terms_lo);
    write_row4(batch, row0 + i, col0 + 4u, rows[i][1], terms_hi);
  }
#else
  let terms = column_terms(col0);
  for (var i = 0u; i < row_count; i = i + 1u) { write_row4(batch, row0 + i, col0, rows[i], terms); }
#endif
}

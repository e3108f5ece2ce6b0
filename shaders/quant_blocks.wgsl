// Block quantizer (torchao choose_qparams_affine + quantize_affine, float32 arithmetic exactly as the
// CPU reference src/quant/quantize.ts): one workgroup per block_id of `group_size` consecutive elements
// of a row (per-token activations: the whole row). Writes the block_id's scale (and zero point) and its
// codes packed into u32 words in the layout of quant_formats.wgsl (int8 rows padded with code 0).
// MAPPING_SYMMETRIC | MAPPING_ASYM_INT_ZP | MAPPING_ASYM_FLOAT_ZP; PACK_INT8 | PACK_INT4 (NIBBLE_OFFSET).
// SUBGROUP_REDUCE (CPU adapters with 8-lane subgroups): the workgroup is one subgroup and the block's
// min/max come from subgroupMin/Max, with no workgroup memory or barriers (each barrier is a costly
// switch on lavapipe: per-token quantization of 4096×320 went from ~25 ms to the figure in quant-blocks.ts).
// SERIAL_REDUCE (CPU adapters without those subgroups, i.e. SwiftShader): each thread walks a whole block of its
// own (block = global thread index), nothing to reduce across threads and no barriers.
#if SUBGROUP_REDUCE
enable subgroups;
#endif
#include "include/elem.wgsl"
#include "include/quant_formats.wgsl"

struct Params {
  cols: u32,
  group_size: u32,
  groups_per_row: u32,
  words_per_row: u32,
  qmin: i32,
  qmax: i32,
  eps: f32,
  // SERIAL_REDUCE: the number of blocks (threads past it return).
  blocks: u32,
  // Always 0: a run-time value the compiler cannot see through (keeps (mn + s·mid) − s·mid from folding to mn, and
  // lets the shader build a NaN, which WGSL refuses as a constant).
  opaque_zero: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> zeros: array<f32>;

#if SUBGROUP_REDUCE
#else
#if SERIAL_REDUCE
#else
var<workgroup> red_min: array<f32, WG_SIZE>;
var<workgroup> red_max: array<f32, WG_SIZE>;
// Set when any element of the block is NaN or ±∞ (zero-initialised, like all workgroup memory).
var<workgroup> red_nonfinite: atomic<u32>;
#endif
#endif

// Threads sharing one block.
#if SERIAL_REDUCE
const BLOCK_THREADS: u32 = 1u;
#else
const BLOCK_THREADS: u32 = WG_SIZE;
#endif

// Significand (with the implicit bit, normalised to [2^23, 2^24)) and unbiased exponent of a finite
// nonzero f32, subnormals included.
fn split_f32(v: f32) -> vec2<i32> {
  let bits = bitcast<u32>(v);
  var e = i32((bits >> 23u) & 0xFFu);
  var m = bits & 0x7FFFFFu;
  if (e == 0) {
    e = 1;
    for (var i = 0; i < 24 && m < 0x800000u; i = i + 1) { m = m << 1u; e = e - 1; }
  } else {
    m = m | 0x800000u;
  }
  return vec2<i32>(i32(m), e - 127);
}

// a / b correctly rounded (nearest, ties to even) like the CPU reference. WGSL only promises 2.5 ulp
// for `/`, and lavapipe's quotient is 1 ulp off for ~10% of scales, which flips codes at .5 ties; so
// the significands are divided bit by bit in integers (25 quotient bits + a sticky remainder).
fn div_rn(a: f32, b: f32) -> f32 {
  if (a == 0.0) { return a / b; }
  let sign = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
  let sa = split_f32(a);
  let sb = split_f32(b);
  let mb = u32(sb.x);
  var r = u32(sa.x);
  var e = sa.y - sb.y;
  if (r < mb) { r = r << 1u; e = e - 1; } // quotient of significands now in [1, 2)
  var q = 0u;
  for (var i = 0; i < 25; i = i + 1) {
    q = q << 1u;
    if (r >= mb) { q = q | 1u; r = r - mb; }
    r = r << 1u;
  }
  var mant = q >> 1u;
  if ((q & 1u) == 1u && (r != 0u || (mant & 1u) == 1u)) { mant = mant + 1u; }
  if (mant == 0x1000000u) { mant = mant >> 1u; e = e + 1; }
  // Results here are scales, reciprocals and code values: never near the f32 range ends.
  if (e + 127 <= 0) { return bitcast<f32>(sign); }
  if (e + 127 >= 255) { return bitcast<f32>(sign | 0x7F800000u); }
  return bitcast<f32>(sign | (u32(e + 127) << 23u) | (mant & 0x7FFFFFu));
}

fn code_of(v: f32, scale: f32, inv_scale: f32, zp: f32, min_val: f32) -> i32 {
#if MAPPING_ASYM_FLOAT_ZP
  let pre = div_rn(v - min_val, scale);
  return clamp(i32(round(pre)), params.qmin, params.qmax);
#else
  // torchao multiplies by 1/scale (computed first in f32); round() is half-to-even as torch.round.
  return clamp(i32(round(v * inv_scale)) + i32(zp), params.qmin, params.qmax);
#endif
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
#if SERIAL_REDUCE
  let block_id = (wid.x + wid.y * nwg.x) * WG_SIZE + lid3.x;
  if (block_id >= params.blocks) { return; }
  let lid = 0u;
#else
  let block_id = wid.x + wid.y * nwg.x;
  let lid = lid3.x;
#endif
  let row = block_id / params.groups_per_row;
  let g = block_id % params.groups_per_row;
  let start = row * params.cols + g * params.group_size;
  var mn = 3.4028234e38;
  var mx = -3.4028234e38;
  // NaN and ±∞ are told by their exponent bits (min/max may skip a NaN, and `v != v` may be folded away).
  var nonfinite = 0u;
  for (var i = lid; i < params.group_size; i = i + BLOCK_THREADS) {
    let v = f32(x[start + i]);
    mn = min(mn, v);
    mx = max(mx, v);
    nonfinite = nonfinite | u32((bitcast<u32>(v) & 0x7F800000u) == 0x7F800000u);
  }
#if SUBGROUP_REDUCE
  mn = subgroupMin(mn);
  mx = subgroupMax(mx);
  nonfinite = subgroupOr(nonfinite);
#else
#if SERIAL_REDUCE
#else
  red_min[lid] = mn;
  red_max[lid] = mx;
  if (nonfinite != 0u) { atomicOr(&red_nonfinite, 1u); }
  workgroupBarrier();
  for (var s = WG_SIZE / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red_min[lid] = min(red_min[lid], red_min[lid + s]);
      red_max[lid] = max(red_max[lid], red_max[lid + s]);
    }
    workgroupBarrier();
  }
  mn = red_min[0];
  mx = red_max[0];
  nonfinite = atomicLoad(&red_nonfinite);
#endif
#endif
  let qrange = f32(params.qmax - params.qmin);
  var scale: f32;
  var zp = 0.0;
  var min_val = 0.0;
#if MAPPING_ASYM_FLOAT_ZP
  // int4_weight_only: no preserve_zero; the zero point lives in the float domain.
  let mid = f32((params.qmax + params.qmin + 1) / 2);
  scale = max(div_rn(mx - mn, qrange), params.eps);
  // torchao rounds zp = mn + scale·mid and then min_val = zp − scale·mid in f32; folded to mn (as fast-math
  // compilers do), codes within ~2e-6 of a .5 tie would round the other way.
  zp = bitcast<f32>(bitcast<u32>(mn + scale * mid) ^ params.opaque_zero);
  min_val = zp - scale * mid;
#else
  // preserve_zero: the range always holds 0.
  mn = min(mn, 0.0);
  mx = max(mx, 0.0);
#if MAPPING_SYMMETRIC
  scale = max(div_rn(max(-mn, mx), qrange * 0.5), params.eps);
#else
  scale = max(div_rn(mx - mn, qrange), params.eps);
  zp = f32(clamp(params.qmin - i32(round(div_rn(mn, scale))), params.qmin, params.qmax));
#endif
#endif
  // A block with NaN or ±∞ has no scale: NaN, so every product with it is NaN, as torch's float path would give
  // (the codes are then meaningless). Finite-looking output from a NaN input would hide the fault.
  // (A NaN constant is refused by WGSL; the uniform zero makes it a run-time value.)
  if (nonfinite != 0u) { scale = bitcast<f32>(0x7FC00000u | params.opaque_zero); }
  let inv_scale = div_rn(1.0, scale);
  if (lid == 0u) {
    scales[block_id] = scale;
    zeros[block_id] = zp;
  }
#if PACK_INT4
  let first_word = row * params.words_per_row + g * (params.group_size / INT4_PER_WORD);
  for (var w = lid; w < params.group_size / INT4_PER_WORD; w = w + BLOCK_THREADS) {
    var word = 0u;
    for (var j = 0u; j < INT4_PER_WORD; j = j + 1u) {
      let c = code_of(f32(x[start + w * INT4_PER_WORD + j]), scale, inv_scale, zp, min_val);
      word = word | (u32(c + NIBBLE_OFFSET) << (4u * j));
    }
    codes[first_word + w] = word;
  }
#else
  // int8 blocks are whole rows (per channel / per token): the row's padded words, pad codes 0.
  let first_word = row * params.words_per_row;
  for (var w = lid; w < params.words_per_row; w = w + BLOCK_THREADS) {
    var word = 0u;
    for (var j = 0u; j < INT8_PER_WORD; j = j + 1u) {
      let k = w * INT8_PER_WORD + j;
      if (k < params.cols) {
        let c = code_of(f32(x[row * params.cols + k]), scale, inv_scale, zp, min_val);
        word = word | ((u32(c) & 0xFFu) << (8u * j));
      }
    }
    codes[first_word + w] = word;
  }
#endif
}

// Packed integer weight/activation formats, defined once (mirror of src/quant/formats.ts; the
// GPU-vs-CPU decode test in test/ops/quant-linear.test.ts pins them bit for bit).
// - int8: 4 codes per u32, code k of a row in bits 8·(k%4).., two's complement; rows padded to a
//   multiple of 4 codes with code 0.
// - int4: 8 codes per u32, code k in the nibble at bits 4·(k%8); the nibble holds code + 8 for signed
//   codes (W4A8) and the uint4 code q for W4A16; both unpack as s = nibble − 8.

const INT8_PER_WORD: u32 = 4u;
const INT4_PER_WORD: u32 = 8u;
const INT4_UNPACK_BIAS: i32 = 8;

// Signed int8 code `lane` (0..3) of a packed word: shift it to the top byte, then arithmetic shift down.
fn unpack_int8(word: u32, lane: u32) -> i32 {
  return i32(word << (24u - 8u * lane)) >> 24u;
}

// Signed int4 value (nibble − 8) of code `lane` (0..7) of a packed word.
fn unpack_int4(word: u32, lane: u32) -> i32 {
  return i32((word >> (4u * lane)) & 0xFu) - INT4_UNPACK_BIAS;
}

// The raw nibbles (0..15) of codes 0..3 (half 0) or 4..7 (half 1) of an int4 word, spread one per
// byte so an int8 dot product can consume them.
fn int4_nibbles_as_bytes(word: u32, half: u32) -> u32 {
  let w = word >> (16u * half);
  return (w & 0xFu) | ((w & 0xF0u) << 4u) | ((w & 0xF00u) << 8u) | ((w & 0xF000u) << 12u);
}

// Σ of the 4 products of signed bytes of a and b: the packed-dot builtin where the WGSL language
// feature packed_4x8_integer_dot_product exists (PACKED_DOT), else the same sum unpacked.
fn dot4_int8(a: u32, b: u32) -> i32 {
#if PACKED_DOT
  return dot4I8Packed(a, b);
#else
  return unpack_int8(a, 0u) * unpack_int8(b, 0u) + unpack_int8(a, 1u) * unpack_int8(b, 1u) +
         unpack_int8(a, 2u) * unpack_int8(b, 2u) + unpack_int8(a, 3u) * unpack_int8(b, 3u);
#endif
}

// Storage of weight scales (and W4A16 zero points): f32, one per word, or with SCALES_F16 IEEE half
// values two per u32 word (value i in the low half of word i/2 when i is even, as an f16 tensor lays
// them out), widened with unpack2x16float so no shader-f16 is needed. Each kernel binds
// `array<scale_word>` and reads value i as scale_at(words[scale_word_index(i)], i).
#if SCALES_F16
alias scale_word = u32;
#else
alias scale_word = f32;
#endif

fn scale_word_index(i: u32) -> u32 {
#if SCALES_F16
  return i >> 1u;
#else
  return i;
#endif
}

fn scale_at(word: scale_word, i: u32) -> f32 {
#if SCALES_F16
  return unpack2x16float(word)[i & 1u];
#else
  return word;
#endif
}

// 4 consecutive int8 codes of a word (code 0 in the low byte) as floats, for the kernels that multiply
// unpacked codes in f32 (matmul_cpu.wgsl, matmul_rows.wgsl): the same values as unpack_int8 lanes 0..3.
fn unpack_int8x4(word: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// Codes 4·half .. 4·half + 3 of an int4 word (half 0 or 1), dequantized: (nibble − 8)·scale + zero, as in
// read_b (matmul_io.wgsl).
fn dequant_int4x4(word: u32, half: u32, scale: f32, zero: f32) -> vec4<f32> {
  let sh = 16u * half;
  let nib = (vec4<u32>(word) >> vec4<u32>(sh, sh + 4u, sh + 8u, sh + 12u)) & vec4<u32>(0xFu);
  return (vec4<f32>(nib) - f32(INT4_UNPACK_BIAS)) * scale + zero;
}

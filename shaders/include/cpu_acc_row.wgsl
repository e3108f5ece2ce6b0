// The named accumulators of the CPU-adapter kernels (matmul_cpu.wgsl, conv2d_cpu.wgsl), one per output row, of the
// kernel's type Acc: module-private so helper functions can update them, never indexed dynamically in the main loops.
var<private> acc0: Acc; var<private> acc1: Acc; var<private> acc2: Acc; var<private> acc3: Acc;
var<private> acc4: Acc; var<private> acc5: Acc; var<private> acc6: Acc; var<private> acc7: Acc;
#if ROWS_16
var<private> acc8: Acc; var<private> acc9: Acc; var<private> acc10: Acc; var<private> acc11: Acc;
var<private> acc12: Acc; var<private> acc13: Acc; var<private> acc14: Acc; var<private> acc15: Acc;
#endif
#if ROWS_32
var<private> acc16: Acc; var<private> acc17: Acc; var<private> acc18: Acc; var<private> acc19: Acc;
var<private> acc20: Acc; var<private> acc21: Acc; var<private> acc22: Acc; var<private> acc23: Acc;
var<private> acc24: Acc; var<private> acc25: Acc; var<private> acc26: Acc; var<private> acc27: Acc;
var<private> acc28: Acc; var<private> acc29: Acc; var<private> acc30: Acc; var<private> acc31: Acc;
#endif
#if ROWS_64
var<private> acc32: Acc; var<private> acc33: Acc; var<private> acc34: Acc; var<private> acc35: Acc;
var<private> acc36: Acc; var<private> acc37: Acc; var<private> acc38: Acc; var<private> acc39: Acc;
var<private> acc40: Acc; var<private> acc41: Acc; var<private> acc42: Acc; var<private> acc43: Acc;
var<private> acc44: Acc; var<private> acc45: Acc; var<private> acc46: Acc; var<private> acc47: Acc;
var<private> acc48: Acc; var<private> acc49: Acc; var<private> acc50: Acc; var<private> acc51: Acc;
var<private> acc52: Acc; var<private> acc53: Acc; var<private> acc54: Acc; var<private> acc55: Acc;
var<private> acc56: Acc; var<private> acc57: Acc; var<private> acc58: Acc; var<private> acc59: Acc;
var<private> acc60: Acc; var<private> acc61: Acc; var<private> acc62: Acc; var<private> acc63: Acc;
#endif

// Accumulator i of the named accumulators above (Acc and ROWS_16 / ROWS_32 / ROWS_64 come from the kernel). The
// main loops never index them dynamically; an epilogue loop does, once per output row, so it is emitted once instead
// of ROWS times (lavapipe's compile time grows steeply with unrolled code).
fn acc_row(i: u32) -> Acc {
  switch i {
    case 0u: { return acc0; }
    case 1u: { return acc1; }
    case 2u: { return acc2; }
    case 3u: { return acc3; }
    case 4u: { return acc4; }
    case 5u: { return acc5; }
    case 6u: { return acc6; }
    case 7u: { return acc7; }
#if ROWS_16
    case 8u: { return acc8; }
    case 9u: { return acc9; }
    case 10u: { return acc10; }
    case 11u: { return acc11; }
    case 12u: { return acc12; }
    case 13u: { return acc13; }
    case 14u: { return acc14; }
    case 15u: { return acc15; }
#endif
#if ROWS_32
    case 16u: { return acc16; }
    case 17u: { return acc17; }
    case 18u: { return acc18; }
    case 19u: { return acc19; }
    case 20u: { return acc20; }
    case 21u: { return acc21; }
    case 22u: { return acc22; }
    case 23u: { return acc23; }
    case 24u: { return acc24; }
    case 25u: { return acc25; }
    case 26u: { return acc26; }
    case 27u: { return acc27; }
    case 28u: { return acc28; }
    case 29u: { return acc29; }
    case 30u: { return acc30; }
    case 31u: { return acc31; }
#endif
#if ROWS_64
    case 32u: { return acc32; }
    case 33u: { return acc33; }
    case 34u: { return acc34; }
    case 35u: { return acc35; }
    case 36u: { return acc36; }
    case 37u: { return acc37; }
    case 38u: { return acc38; }
    case 39u: { return acc39; }
    case 40u: { return acc40; }
    case 41u: { return acc41; }
    case 42u: { return acc42; }
    case 43u: { return acc43; }
    case 44u: { return acc44; }
    case 45u: { return acc45; }
    case 46u: { return acc46; }
    case 47u: { return acc47; }
    case 48u: { return acc48; }
    case 49u: { return acc49; }
    case 50u: { return acc50; }
    case 51u: { return acc51; }
    case 52u: { return acc52; }
    case 53u: { return acc53; }
    case 54u: { return acc54; }
    case 55u: { return acc55; }
    case 56u: { return acc56; }
    case 57u: { return acc57; }
    case 58u: { return acc58; }
    case 59u: { return acc59; }
    case 60u: { return acc60; }
    case 61u: { return acc61; }
    case 62u: { return acc62; }
    case 63u: { return acc63; }
#endif
    default: { return Acc(); }
  }
}

// All accumulators as an array, in row order (constant indices only), for an epilogue loop that indexes it
// instead of calling acc_row (matmul_cpu.wgsl: faster with 64 rows of mat2x4 accumulators).
fn acc_rows() -> array<Acc, ROWS> {
  var out: array<Acc, ROWS>;
  out[0] = acc0; out[1] = acc1; out[2] = acc2; out[3] = acc3;
  out[4] = acc4; out[5] = acc5; out[6] = acc6; out[7] = acc7;
#if ROWS_16
  out[8] = acc8; out[9] = acc9; out[10] = acc10; out[11] = acc11;
  out[12] = acc12; out[13] = acc13; out[14] = acc14; out[15] = acc15;
#endif
#if ROWS_32
  out[16] = acc16; out[17] = acc17; out[18] = acc18; out[19] = acc19;
  out[20] = acc20; out[21] = acc21; out[22] = acc22; out[23] = acc23;
  out[24] = acc24; out[25] = acc25; out[26] = acc26; out[27] = acc27;
  out[28] = acc28; out[29] = acc29; out[30] = acc30; out[31] = acc31;
#endif
#if ROWS_64
  out[32] = acc32; out[33] = acc33; out[34] = acc34; out[35] = acc35;
  out[36] = acc36; out[37] = acc37; out[38] = acc38; out[39] = acc39;
  out[40] = acc40; out[41] = acc41; out[42] = acc42; out[43] = acc43;
  out[44] = acc44; out[45] = acc45; out[46] = acc46; out[47] = acc47;
  out[48] = acc48; out[49] = acc49; out[50] = acc50; out[51] = acc51;
  out[52] = acc52; out[53] = acc53; out[54] = acc54; out[55] = acc55;
  out[56] = acc56; out[57] = acc57; out[58] = acc58; out[59] = acc59;
  out[60] = acc60; out[61] = acc61; out[62] = acc62; out[63] = acc63;
#endif
  return out;
}

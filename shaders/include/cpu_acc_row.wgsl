// Accumulator i of a CPU-adapter kernel's named accumulators acc0 .. acc31 (type Acc, ROWS_16 / ROWS_32 as
// declared by the kernel). The main loops never index them dynamically; the epilogue does, once per output row, so
// it is emitted once instead of ROWS times (lavapipe's compile time grows steeply with unrolled code).
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
    default: { return Acc(); }
  }
}

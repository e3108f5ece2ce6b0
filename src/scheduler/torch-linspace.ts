import { f32, fmaF32 } from "./float32.ts";

/** Lanes of torch's AVX2 float vector; its CPU linspace kernel writes whole vectors where it can. */
const VECTOR_LANES = 8;

/**
 * `torch.linspace(start, end, n, dtype=torch.float32)` on the CPU, bit for bit (torch 1.13, AVX2 build).
 *
 * The kernel rounds start and end to float32, takes step = (end − start)/(n − 1) in float32, and fills from both
 * ends to limit drift: index i < n/2 is `start + step·i`, else `end − step·(n − 1 − i)`, each one fused multiply-add
 * (a single rounding). It works in blocks of 8: a block's first value uses that formula, the other seven are
 * `base + j·step` (j = 1..7, also one rounding each). Blocks are written two at a time (16 values); what is left
 * after the last pair of blocks is written one value at a time with the per-element formula.
 */
export function torchLinspaceF32(start: number, end: number, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`linspace: n must be a non-negative integer, got ${n}`);
  const out = new Float32Array(n);
  if (n === 0) return out;
  const s = f32(start);
  const e = f32(end);
  if (n === 1) {
    out[0] = s;
    return out;
  }
  const step = f32((e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  const valueAt = (i: number) => (i < halfway ? fmaF32(step, i, s) : fmaF32(-step, n - 1 - i, e));
  const pairedEnd = n - (n % (2 * VECTOR_LANES));
  for (let block = 0; block < pairedEnd; block += VECTOR_LANES) {
    const base = valueAt(block);
    out[block] = base;
    for (let j = 1; j < VECTOR_LANES; j++) out[block + j] = fmaF32(j, step, base);
  }
  for (let i = pairedEnd; i < n; i++) out[i] = valueAt(i);
  return out;
}

/**
 * Element types of GPU tensors. `i8x4` and `i4x8` are packed integer weights (4 int8 or 8 int4 per
 * u32 word); their logical shape counts elements, their storage counts words.
 */
export type DType = "f32" | "f16" | "i32" | "u32" | "i8x4" | "i4x8";

/** Bits per logical element. */
export const DTYPE_BITS: Record<DType, number> = { f32: 32, f16: 16, i32: 32, u32: 32, i8x4: 8, i4x8: 4 };

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor of this shape and dtype occupies, rounded up to whole 4-byte words (WebGPU copies are word-sized). */
export function storageBytes(shape: readonly number[], dtype: DType): number {
  const bits = numel(shape) * DTYPE_BITS[dtype];
  return Math.ceil(bits / 32) * 4;
}

export { f32ToF16Bits, f16BitsToF32 } from "../util/float16.ts";

import type { SafetensorsDtype } from "./dtypes.ts";
import { f16BitsToF32, f32ToF16Bits, widenF16 } from "../../util/float16.ts";

export { f16BitsToF32, f32ToF16Bits };


export type TypedArrayOf =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A copy of little-endian tensor bytes as the natural typed array for its dtype (F16/BF16 as raw Uint16Array). */
export function bytesToTypedArray(dtype: SafetensorsDtype, bytes: Uint8Array): TypedArrayOf {
  const copy = bytes.slice(); // aligned, owned
  const b = copy.buffer;
  switch (dtype) {
    case "F64": return new Float64Array(b);
    case "F32": return new Float32Array(b);
    case "F16": case "BF16": case "U16": return new Uint16Array(b);
    case "I64": return new BigInt64Array(b);
    case "U64": return new BigUint64Array(b);
    case "I32": return new Int32Array(b);
    case "U32": return new Uint32Array(b);
    case "I16": return new Int16Array(b);
    case "I8": return new Int8Array(b);
    case "U8": case "BOOL": return new Uint8Array(b);
  }
}

/** Tensor bytes converted to float32 (F16/BF16 widened exactly; F64 and integers rounded to nearest float32). */
export function bytesToFloat32(dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array {
  // F16 is only read here: widen from a view of the bytes when aligned, without bytesToTypedArray's copy.
  if (dtype === "F16") {
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    return widenF16(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2));
  }
  const a = bytesToTypedArray(dtype, bytes);
  if (a instanceof Float32Array) return a;
  const out = new Float32Array(a.length);
  if (dtype === "BF16") {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < a.length; i++) u[i] = (a[i] as number) << 16;
  } else {
    for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
  }
  return out;
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** Bfloat16 bits to IEEE half bits: exact widening to float32, then round-to-nearest-even to half. */
export function bf16BitsToF16Bits(b: number): number {
  U32_SCRATCH[0] = (b & 0xffff) << 16;
  return f32ToF16Bits(F32_SCRATCH[0]!);
}

/** Float32 values to IEEE half bits (round-to-nearest-even). */
export function float32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]!);
  return out;
}

/** Float32 values to bfloat16 bits (round-to-nearest-even; NaN stays NaN). */
export function float32ToBf16(values: Float32Array): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Tensor bytes of a BF16 tensor as F16 bytes (for GPUs whose kernels take half). */
export function bf16BytesToF16(bytes: Uint8Array): Uint16Array {
  const src = bytesToTypedArray("BF16", bytes) as Uint16Array;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = bf16BitsToF16Bits(src[i]!);
  return out;
}

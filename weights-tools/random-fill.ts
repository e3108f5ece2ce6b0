import { float32ToBf16, float32ToF16 } from "../src/weights/safetensors/convert.ts";
import type { SafetensorsDtype } from "../src/weights/safetensors/dtypes.ts";

/** Standard deviation of random weights: small enough that a random network's activations stay sane. */
export const RANDOM_WEIGHT_STD = 0.02;

/** 32-bit FNV-1a of a string, to give each tensor its own stream from (seed, name). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * xoshiro128** seeded through splitmix32: fast, 32-bit only, good enough for random test weights.
 * A tensor's values depend only on (seed, tensor name), not on write order or chunk size.
 */
export class TensorRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, name: string) {
    let x = (fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1; // the state must not be all zero
  }

  /**
   * Fills `out` with N(0, scale²) values by Marsaglia's polar method (no trigonometry, one log and
   * one sqrt per pair; 21 % of candidate pairs are rejected). The generator state lives in locals,
   * which is several times faster than a method call per element. An odd-length `out` drops the
   * pair's second value, so chunks other than the last must have even lengths.
   */
  fillNormal(out: Float32Array, scale: number): void {
    let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const n = out.length;
    let i = 0;
    while (i < n) {
      // Two xoshiro128** steps, inlined; each gives a uniform in [-1, 1).
      const a = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      let t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      const b = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      const u = (a | 0) / 2147483648;
      const v = (b | 0) / 2147483648;
      const q = u * u + v * v;
      if (q >= 1 || q === 0) continue;
      const f = Math.sqrt((-2 * Math.log(q)) / q) * scale;
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
    }
    this.s0 = s0; this.s1 = s1; this.s2 = s2; this.s3 = s3;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** How a tensor is filled, from its name and shape (the usual init a random network needs to run). */
export type FillRule = "zeros" | "ones" | "normal" | "arange";

export function fillRuleFor(name: string, shape: readonly number[], dtype: SafetensorsDtype): FillRule {
  const isFloat = dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";
  if (!isFloat) return name.endsWith("position_ids") ? "arange" : "zeros";
  if (name.endsWith(".bias")) return "zeros";
  // 1-D weights are norm scales (linear and conv weights have 2 or more dims).
  if (shape.length === 1 && name.endsWith(".weight")) return "ones";
  return "normal";
}

/**
 * Produces the tensor's little-endian bytes in chunks of at most `chunkElements`, so a 3.5 GB UNet
 * is generated with a few MB of memory. Element i's value does not depend on the chunk size.
 */
export function* randomTensorChunks(
  seed: number,
  name: string,
  dtype: SafetensorsDtype,
  shape: readonly number[],
  chunkElements = 1 << 20,
): Generator<Uint8Array> {
  if (chunkElements % 2) throw new Error(`randomTensorChunks: chunkElements must be even, got ${chunkElements}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const rule = fillRuleFor(name, shape, dtype);
  const rng = new TensorRng(seed, name);
  const lastDim = shape.length ? shape[shape.length - 1]! : 1;
  for (let start = 0; start < count; start += chunkElements) {
    const n = Math.min(chunkElements, count - start);
    if (dtype === "I64" || dtype === "I32" || dtype === "I16" || dtype === "I8" || dtype === "U8" || dtype === "BOOL") {
      yield integerChunk(dtype, rule, start, n, lastDim);
      continue;
    }
    const values = new Float32Array(n);
    if (rule === "ones") values.fill(1);
    else if (rule === "normal") rng.fillNormal(values, RANDOM_WEIGHT_STD);
    yield floatBytes(dtype, values);
  }
}

function floatBytes(dtype: SafetensorsDtype, values: Float32Array): Uint8Array {
  switch (dtype) {
    case "F32":
      return new Uint8Array(values.buffer);
    case "F16":
      return new Uint8Array(float32ToF16(values).buffer);
    case "BF16":
      return new Uint8Array(float32ToBf16(values).buffer);
    case "F64":
      return new Uint8Array(Float64Array.from(values).buffer);
    default:
      throw new Error(`make-random: cannot fill dtype ${dtype} with floats`);
  }
}

function integerChunk(dtype: SafetensorsDtype, rule: FillRule, start: number, n: number, lastDim: number): Uint8Array {
  const at = (i: number) => (rule === "arange" ? (start + i) % lastDim : 0);
  switch (dtype) {
    case "I64": {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(at(i));
      return new Uint8Array(a.buffer);
    }
    case "I32":
      return new Uint8Array(Int32Array.from({ length: n }, (_, i) => at(i)).buffer);
    case "I16":
      return new Uint8Array(Int16Array.from({ length: n }, (_, i) => at(i)).buffer);
    default:
      return Uint8Array.from({ length: n }, (_, i) => at(i) & 0xff);
  }
}

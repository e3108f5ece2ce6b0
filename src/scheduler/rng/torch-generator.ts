import { f32, sqrtF32 } from "../float32.ts";
import { logAvx, sinCosAvx } from "./avx-mathfun.ts";
import { logCR, sinCosCR } from "./correctly-rounded.ts";
import { f32ToF16Bits, roundToHalf } from "./float16.ts";
import { Mt19937 } from "./mt19937.ts";

/** torch switches from the scalar (cached Box–Muller) path to the 16-wide fill at this many elements. */
const VECTOR_FILL_MIN = 16;
const HALF_CHUNK = 8;
const TWO_PI = 2 * Math.PI;
const TWO_PI_F32 = f32(TWO_PI);
const TWO_POW_32 = 2 ** 32;
const MAX_SEED = 2n ** 64n - 1n;
const MIN_SEED = -(2n ** 63n);

/** A seed as torch's `manual_seed` accepts it: an integer in [−2^63, 2^64 − 1] (bigint, or a safe-integer number). */
export type TorchSeed = number | bigint;

function seedLow32(seed: TorchSeed): number {
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) {
      throw new Error(`TorchGenerator: seed ${seed} is not a safe integer; pass seeds above 2^53 as a bigint`);
    }
    seed = BigInt(seed);
  }
  if (seed < MIN_SEED || seed > MAX_SEED) {
    throw new Error(`TorchGenerator: seed must be in [-2^63, 2^64-1] like torch.manual_seed, got ${seed}`);
  }
  // torch reinterprets the seed as uint64 and the engine keeps its low 32 bits.
  return Number(BigInt.asUintN(32, seed));
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`randn: shape dims must be non-negative integers, got [${shape}]`);
    n *= d;
  }
  return n;
}

/**
 * PyTorch's CPU generator (`torch.Generator().manual_seed(seed)`) and `torch.randn(shape, generator=g)`, bit for bit
 * (torch 1.13, x86-64 AVX2 kernels). State advances across calls exactly as torch's does, including the cached
 * second Box–Muller value of the scalar path, so successive calls on one generator reproduce torch's sequence.
 */
export class TorchGenerator {
  private engine: Mt19937;
  /** torch's `next_double_normal_sample`: the sin half of the last scalar Box–Muller pair, if unused. */
  private cachedNormal: number | null = null;

  constructor(seed: TorchSeed) {
    this.engine = new Mt19937(seedLow32(seed));
  }

  /** Re-seeds like `manual_seed` (also drops the cached normal). */
  manualSeed(seed: TorchSeed): this {
    this.engine = new Mt19937(seedLow32(seed));
    this.cachedNormal = null;
    return this;
  }

  /** The next raw 32-bit engine output (torch `random()`). */
  nextU32(): number {
    return this.engine.nextU32();
  }

  /** float32 uniform in [0, 1): 24 random bits. */
  private uniformF32(): number {
    return (this.engine.nextU32() & 0xffffff) * 2 ** -24;
  }

  /** float64 uniform in [0, 1): the low 53 bits of (first << 32 | second). */
  private uniformF64(): number {
    const hi = this.engine.nextU32();
    const lo = this.engine.nextU32();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * 2 ** -53;
  }

  /** float16 uniform in [0, 1): 11 random bits. */
  private uniformF16(): number {
    return (this.engine.nextU32() & 0x7ff) * 2 ** -11;
  }

  /** torch `normal_distribution<double>` with the generator's cache (the scalar path, numel < 16). */
  private scalarNormal(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v + 0; // value·std + mean with std 1, mean 0: turns −0 into +0
    }
    const u1 = this.uniformF64();
    const u2 = this.uniformF64();
    const r = Math.sqrt(-2 * logCR(1 - u2));
    const { sin, cos } = sinCosCR(TWO_PI * u1);
    this.cachedNormal = r * sin;
    return r * cos + 0;
  }

  /** `torch.randn(shape, generator=self)` in float32. */
  randn(shape: readonly number[]): Float32Array {
    const n = numelOf(shape);
    const out = new Float32Array(n);
    if (n < VECTOR_FILL_MIN) {
      for (let i = 0; i < n; i++) out[i] = this.scalarNormal();
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = this.uniformF32();
    const transform = (at: number) => {
      for (let j = 0; j < HALF_CHUNK; j++) {
        const u1 = f32(1 - out[at + j]!);
        const u2 = out[at + j + HALF_CHUNK]!;
        const radius = sqrtF32(f32(-2 * logAvx(u1)));
        const { sin, cos } = sinCosAvx(f32(TWO_PI_F32 * u2));
        out[at + j] = f32(radius * cos) + 0;
        out[at + j + HALF_CHUNK] = f32(radius * sin) + 0;
      }
    };
    this.fillChunks(out, n, transform, () => this.uniformF32());
    return out;
  }

  /** `torch.randn(shape, generator=self, dtype=torch.float64)`. */
  randnFloat64(shape: readonly number[]): Float64Array {
    const n = numelOf(shape);
    const out = new Float64Array(n);
    if (n < VECTOR_FILL_MIN) {
      for (let i = 0; i < n; i++) out[i] = this.scalarNormal();
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = this.uniformF64();
    const transform = (at: number) => {
      for (let j = 0; j < HALF_CHUNK; j++) {
        const u1 = 1 - out[at + j]!;
        const u2 = out[at + j + HALF_CHUNK]!;
        const radius = Math.sqrt(-2 * logCR(u1));
        const { sin, cos } = sinCosCR(TWO_PI * u2);
        out[at + j] = radius * cos + 0;
        out[at + j + HALF_CHUNK] = radius * sin + 0;
      }
    };
    this.fillChunks(out, n, transform, () => this.uniformF64());
    return out;
  }

  /** `torch.randn(shape, generator=self, dtype=torch.float16)`, as IEEE half bits. */
  randnFloat16Bits(shape: readonly number[]): Uint16Array {
    const n = numelOf(shape);
    if (n < VECTOR_FILL_MIN) {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(f32(this.scalarNormal()));
      return out;
    }
    // The generic (non-AVX) kernel holds values as half between steps; math functions are float32 ones.
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = this.uniformF16();
    const transform = (at: number) => {
      for (let j = 0; j < HALF_CHUNK; j++) {
        const u1 = roundToHalf(1 - values[at + j]!);
        const u2 = values[at + j + HALF_CHUNK]!;
        const radius = roundToHalf(sqrtF32(f32(-2 * f32(Math.log(u1)))));
        const theta = roundToHalf(TWO_PI * u2);
        values[at + j] = roundToHalf(f32(radius * f32(Math.cos(theta))) + 0);
        values[at + j + HALF_CHUNK] = roundToHalf(f32(radius * f32(Math.sin(theta))) + 0);
      }
    };
    this.fillChunks(values, n, transform, () => this.uniformF16());
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(values[i]!);
    return out;
  }

  /**
   * The ≥16 path after the uniforms are in place: transform each full chunk of 16; when n is not a multiple of 16,
   * draw 16 fresh uniforms into the last 16 slots (overwriting finished values) and transform that chunk again.
   */
  private fillChunks(
    data: Float32Array | Float64Array,
    n: number,
    transform: (at: number) => void,
    uniform: () => number,
  ): void {
    for (let at = 0; at + 2 * HALF_CHUNK <= n; at += 2 * HALF_CHUNK) transform(at);
    if (n % (2 * HALF_CHUNK) !== 0) {
      const at = n - 2 * HALF_CHUNK;
      for (let j = 0; j < 2 * HALF_CHUNK; j++) data[at + j] = uniform();
      transform(at);
    }
  }
}

import { f32, fmaF32 } from "../float32.ts";

/**
 * Float32 log and sin/cos exactly as torch's AVX2 randn kernel evaluates them: the Cephes-style polynomials of
 * avx_mathfun (`log256_ps`, `sincos256_ps`) compiled with FMA contraction. Every step is one float32 rounding; `fmaF32`
 * marks where the compiler fused a multiply and an add. Constants are the Cephes values rounded to float32.
 * Valid for the inputs the kernel feeds them: log of u ∈ (0, 1], sincos of θ ∈ [0, 2π).
 */

const SQRTHF = f32(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** log256_ps for one lane (x a positive normal float32). */
export function logAvx(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0]!;
  let e = f32(((bits >>> 23) & 0xff) - 127 + 1);
  // Mantissa with the exponent of 0.5: m ∈ [0.5, 1).
  scratchU32[0] = (bits & 0x807fffff) | 0x3f000000;
  const m = scratchF32[0]!;
  let t: number;
  if (m < SQRTHF) {
    e = f32(e - 1);
    t = f32(f32(m - 1) + m);
  } else {
    t = f32(m - 1);
  }
  const z = f32(t * t);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fmaF32(y, t, LOG_P[k]!);
  y = f32(y * t);
  y = fmaF32(y, z, f32(e * LOG_Q1));
  y = f32(y - f32(z * 0.5));
  const r = f32(t + y);
  return fmaF32(e, LOG_Q2, r);
}

const FOPI = f32(1.27323954473516);
const DP1 = f32(0.78515625);
const DP2 = f32(2.4187564849853515625e-4);
const DP3 = f32(3.77489497744594108e-8);
const COS_C = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const SIN_C = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);

/** sincos256_ps for one lane, θ ≥ 0. */
export function sinCosAvx(theta: number): { sin: number; cos: number } {
  let j = Math.trunc(f32(theta * FOPI));
  j = (j + 1) & ~1;
  const yj = f32(j);
  let x = fmaF32(yj, -DP1, theta);
  x = fmaF32(yj, -DP2, x);
  x = fmaF32(yj, -DP3, x);
  const z = f32(x * x);
  let c = fmaF32(fmaF32(COS_C[0]!, z, COS_C[1]!), z, COS_C[2]!);
  c = f32(c * z);
  c = fmaF32(c, z, -f32(z * 0.5));
  c = f32(c + 1);
  let s = fmaF32(fmaF32(SIN_C[0]!, z, SIN_C[1]!), z, SIN_C[2]!);
  s = f32(s * z);
  s = fmaF32(s, x, x);
  let sin = j & 2 ? c : s;
  let cos = j & 2 ? s : c;
  if (j & 4) sin = -sin;
  if (((j - 2) & 4) === 0) cos = -cos;
  return { sin, cos };
}

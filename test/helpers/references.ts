/**
 * float64 references of the kernels, written from the definitions (not from our WGSL): shared by the op tests
 * (test/ops) and the cases that also run in Chromium (test/cases).
 */
import { convOutSize } from "../../src/ops/conv2d.ts";

export interface ConvShape { n: number; cin: number; h: number; w: number; cout: number; kh: number; kw: number; stride: number; pad: number }

/** float64 NCHW cross-correlation with zero padding. */
export function conv2dRef(x: ArrayLike<number>, wt: ArrayLike<number>, bias: ArrayLike<number> | null, s: ConvShape): Float64Array {
  const ho = convOutSize(s.h, s.kh, s.stride, s.pad);
  const wo = convOutSize(s.w, s.kw, s.stride, s.pad);
  const y = new Float64Array(s.n * s.cout * ho * wo);
  for (let n = 0; n < s.n; n++) for (let co = 0; co < s.cout; co++) for (let oh = 0; oh < ho; oh++) for (let ow = 0; ow < wo; ow++) {
    let acc = bias ? bias[co]! : 0;
    for (let ci = 0; ci < s.cin; ci++) for (let ky = 0; ky < s.kh; ky++) for (let kx = 0; kx < s.kw; kx++) {
      const ih = oh * s.stride - s.pad + ky;
      const iw = ow * s.stride - s.pad + kx;
      if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
      acc += x[((n * s.cin + ci) * s.h + ih) * s.w + iw]! * wt[((co * s.cin + ci) * s.kh + ky) * s.kw + kx]!;
    }
    y[((n * s.cout + co) * ho + oh) * wo + ow] = acc;
  }
  return y;
}

/** float64 y = act(x·Wᵀ + b) + residual. */
export function refLinear(x: Float32Array, w: Float32Array, bias: Float32Array | null, m: number, k: number, n: number, act?: (v: number) => number, res?: Float32Array): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let c = 0; c < k; c++) s += x[i * k + c]! * w[j * k + c]!;
      y[i * n + j] = (act ? act(s) : s) + (res ? res[i * n + j]! : 0);
    }
  return y;
}

/** float64 softmax(q kᵀ/√d) v per (batch, head), layout [B, L, H·d]. */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, b: number, lq: number, lk: number, heads: number, d: number, causal = false): Float64Array {
  const w = heads * d;
  const out = new Float64Array(b * lq * w);
  const s = new Float64Array(lk);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < lq; i++) {
        const qb = (bi * lq + i) * w + h * d;
        let m = -Infinity;
        const seen = causal ? i + 1 : lk;
        for (let j = 0; j < lk; j++) {
          if (j >= seen) {
            s[j] = -Infinity;
            continue;
          }
          const kb = (bi * lk + j) * w + h * d;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[qb + c]! * k[kb + c]!;
          s[j] = dot / Math.sqrt(d);
          m = Math.max(m, s[j]!);
        }
        let l = 0;
        for (let j = 0; j < lk; j++) l += (s[j] = Math.exp(s[j]! - m));
        for (let j = 0; j < lk; j++) {
          const vb = (bi * lk + j) * w + h * d;
          for (let c = 0; c < d; c++) out[qb + c]! += (s[j]! / l) * v[vb + c]!;
        }
      }
    }
  }
  return out;
}

/** float64 GroupNorm of NCHW data (biased variance), optionally followed by SiLU. */
export function groupNormRef(x: Float32Array, shape: number[], gamma: Float32Array, beta: Float32Array, groups: number, eps: number, silu: boolean): Float64Array {
  const [n, c] = shape as [number, number];
  const hw = x.length / (n * c);
  const len = (c / groups) * hw;
  const y = new Float64Array(x.length);
  for (let g = 0; g < n * groups; g++) {
    const base = g * len;
    let s = 0;
    for (let i = 0; i < len; i++) s += x[base + i]!;
    const mean = s / len;
    let q = 0;
    for (let i = 0; i < len; i++) q += (x[base + i]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / len + eps);
    for (let i = 0; i < len; i++) {
      const ch = ((g % groups) * (c / groups)) + Math.floor(i / hw);
      const v = (x[base + i]! - mean) * rstd * gamma[ch]! + beta[ch]!;
      y[base + i] = silu ? v / (1 + Math.exp(-v)) : v;
    }
  }
  return y;
}

/**
 * A small Gaussian-process surrogate over normalised box coordinates (u, v ∈ [-1, 1]): constant mean, squared-
 * exponential kernel, homoscedastic noise. Unlike a quadratic it can hold two bumps, and its posterior standard
 * deviation says where the landscape is still unknown (the search's exploration term). Hyperparameters (length
 * scale, noise-to-signal ratio) are picked from a fixed grid by marginal likelihood, so a fit is deterministic.
 */

export interface GpPoint {
  u: number;
  v: number;
  y: number;
}

export interface GpModel {
  /** Posterior mean of the noise-free landscape. */
  mean(u: number, v: number): number;
  /** Posterior standard deviation of the noise-free landscape (noise excluded). */
  sd(u: number, v: number): number;
  /** mean + beta·sd in one pass. */
  ucb(u: number, v: number, beta: number): number;
  lengthScale: number;
  noiseRatio: number;
}

/** Length scales in normalised units (the box is 2 wide): from one grid cell of the 9×9 to the whole box. */
const LENGTH_SCALES = [0.25, 0.35, 0.5, 0.7, 1.0, 1.4];
/** Noise variance / signal variance; ≥ 1e-3 keeps the Cholesky factor well conditioned when points are close. */
const NOISE_RATIOS = [1e-3, 0.01, 0.03, 0.1, 0.3, 1];

/** Fits the surrogate; undefined with fewer than 3 points or no spread in y (nothing to model). */
export function fitGp(points: readonly GpPoint[]): GpModel | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const yMean = points.reduce((a, p) => a + p.y, 0) / n;
  const ySd = Math.sqrt(points.reduce((a, p) => a + (p.y - yMean) ** 2, 0) / n);
  if (!(ySd > 0)) return undefined;
  const y = points.map((p) => (p.y - yMean) / ySd);
  let best: { ll: number; l: number; lambda: number; chol: Float64Array; alpha: Float64Array; signal: number } | undefined;
  for (const l of LENGTH_SCALES) {
    for (const lambda of NOISE_RATIOS) {
      const k = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = kernel(points[i]!, points[j]!, l) + (i === j ? lambda : 0);
      const chol = cholesky(k, n);
      if (!chol) continue;
      const alpha = solveChol(chol, n, y);
      let quad = 0;
      for (let i = 0; i < n; i++) quad += y[i]! * alpha[i]!;
      // Signal variance at its maximum-likelihood value given (l, lambda): quad / n.
      const signal = Math.max(quad / n, 1e-12);
      let logDet = 0;
      for (let i = 0; i < n; i++) logDet += Math.log(chol[i * n + i]!);
      const ll = -0.5 * n * Math.log(signal) - logDet;
      if (!best || ll > best.ll) best = { ll, l, lambda, chol, alpha, signal };
    }
  }
  if (!best) return undefined;
  const { l, chol, alpha, signal } = best;
  // Buffers reused by every prediction: the search asks for thousands of lattice points per step.
  const pu = Float64Array.from(points, (p) => p.u);
  const pv = Float64Array.from(points, (p) => p.v);
  const ks = new Float64Array(n);
  const w = new Float64Array(n);
  const inv2l2 = 1 / (2 * l * l);
  const fillKStar = (u: number, v: number) => {
    for (let i = 0; i < n; i++) ks[i] = Math.exp(-((pu[i]! - u) ** 2 + (pv[i]! - v) ** 2) * inv2l2);
  };
  const mean = () => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += ks[i]! * alpha[i]!;
    return yMean + ySd * acc;
  };
  const sd = () => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      let sum = ks[i]!;
      for (let k = 0; k < i; k++) sum -= chol[i * n + k]! * w[k]!;
      w[i] = sum / chol[i * n + i]!;
      acc += w[i]! ** 2;
    }
    return ySd * Math.sqrt(Math.max(0, signal * (1 - acc)));
  };
  return {
    lengthScale: l,
    noiseRatio: best.lambda,
    mean: (u, v) => (fillKStar(u, v), mean()),
    sd: (u, v) => (fillKStar(u, v), sd()),
    ucb: (u, v, beta) => (fillKStar(u, v), mean() + beta * sd()),
  };
}

function kernel(a: { u: number; v: number }, b: { u: number; v: number }, l: number): number {
  return Math.exp(-((a.u - b.u) ** 2 + (a.v - b.v) ** 2) / (2 * l * l));
}

/** Lower Cholesky factor of a symmetric n×n matrix (row-major); undefined when it is not positive definite. */
function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return undefined;
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  return l;
}

/** Solves L w = b. */
function forward(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * w[k]!;
    w[i] = sum / l[i * n + i]!;
  }
  return w;
}

/** Solves (L Lᵀ) x = b. */
function solveChol(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const w = forward(l, n, b);
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = w[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/** Frozen copy (commit 462172b) for the baseline fast search; do not use outside bench/calibration/baseline. */
/**
 * A full quadratic surrogate in two variables, q(u, v) = c0 + c1·u + c2·v + c3·u² + c4·v² + c5·u·v, fitted by least
 * squares. The fast search works in normalised box coordinates (u, v ∈ [-1, 1]) so the terms have similar scale.
 */

export const QUADRATIC_TERMS = 6;
/** A small ridge keeps the normal equations solvable when the points are (nearly) degenerate; negligible otherwise. */
const RIDGE = 1e-8;

export interface SurrogatePoint {
  u: number;
  v: number;
  y: number;
}

function quadraticFeatures(u: number, v: number): number[] {
  return [1, u, v, u * u, v * v, u * v];
}

function linearFeatures(u: number, v: number): number[] {
  return [1, u, v];
}

/** A fitted surrogate: evaluates the polynomial at (u, v). */
export interface Surrogate {
  kind: "quadratic" | "linear";
  coefficients: number[];
  predict(u: number, v: number): number;
}

/**
 * Least-squares fit: the full quadratic when there are at least 6 points, a plane with 3–5 points (too few to pin
 * curvature), undefined below 3.
 */
export function fitSurrogate(points: readonly SurrogatePoint[]): Surrogate | undefined {
  const kind = points.length >= QUADRATIC_TERMS ? "quadratic" : points.length >= 3 ? "linear" : undefined;
  if (!kind) return undefined;
  const features = kind === "quadratic" ? quadraticFeatures : linearFeatures;
  const p = kind === "quadratic" ? QUADRATIC_TERMS : 3;
  const ata = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const aty = new Array<number>(p).fill(0);
  for (const pt of points) {
    const f = features(pt.u, pt.v);
    for (let i = 0; i < p; i++) {
      aty[i]! += f[i]! * pt.y;
      for (let j = 0; j < p; j++) ata[i]![j]! += f[i]! * f[j]!;
    }
  }
  for (let i = 1; i < p; i++) ata[i]![i]! += RIDGE; // not on the constant term: leave the level unbiased
  const coefficients = solveSymmetric(ata, aty);
  return {
    kind,
    coefficients,
    predict: (u, v) => {
      const f = features(u, v);
      let y = 0;
      for (let i = 0; i < p; i++) y += coefficients[i]! * f[i]!;
      return y;
    },
  };
}

/** Gaussian elimination with partial pivoting on a small dense system (6×6 at most). */
function solveSymmetric(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const d = m[col]![col]!;
    if (d === 0) throw new Error(`surrogate fit: singular normal equations at column ${col}`);
    for (let r = col + 1; r < n; r++) {
      const f = m[r]![col]! / d;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let acc = m[r]![n]!;
    for (let c = r + 1; c < n; c++) acc -= m[r]![c]! * x[c]!;
    x[r] = acc / m[r]![r]!;
  }
  return x;
}

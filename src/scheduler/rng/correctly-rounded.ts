/**
 * Correctly rounded float64 log, sin and cos. torch's float64 randn calls glibc's libm, whose results are the
 * correctly rounded values; V8's Math.log/sin/cos are within 1 ulp but differ from them in a few percent of draws.
 * Here each function is evaluated in double-double arithmetic (~104 bits) and rounded once to float64.
 */

type DD = [hi: number, lo: number];

const SPLITTER = 134217729; // 2^27 + 1, Dekker's split of a double into two 26-bit halves

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function add(a: DD, b: DD): DD {
  const [s, e1] = twoSum(a[0], b[0]);
  const [t, e2] = twoSum(a[1], b[1]);
  let [hi, lo] = quickTwoSum(s, e1 + t);
  [hi, lo] = quickTwoSum(hi, lo + e2);
  return [hi, lo];
}

function mul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function div(a: DD, b: DD): DD {
  const q1 = a[0] / b[0];
  let r = add(a, neg(mul([q1, 0], b)));
  const q2 = r[0] / b[0];
  r = add(r, neg(mul([q2, 0], b)));
  const q3 = r[0] / b[0];
  return add(quickTwoSum(q1, q2), [q3, 0]);
}

function neg(a: DD): DD {
  return [-a[0], -a[1]];
}

/** ln 2 and π/2 to ~106 bits (hi + lo); π/2 needs a third part for the reduction of θ near multiples of π/2. */
const LN2: DD = [0.6931471805599453, 2.3190468138462996e-17];
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;

const LOG_TERMS = 26;
/** 1/(2k+1) in double-double for the atanh series of log. */
const ODD_RECIPROCALS: DD[] = Array.from({ length: LOG_TERMS }, (_, k) => div([1, 0], [2 * k + 1, 0]));

const TRIG_TERMS = 16;
/** (−1)^k/(2k+1)! and (−1)^k/(2k)! in double-double for the sin and cos series. */
const SIN_COEFFS: DD[] = [];
const COS_COEFFS: DD[] = [];
{
  let fact: DD = [1, 0];
  for (let n = 0; n < 2 * TRIG_TERMS + 2; n++) {
    if (n > 0) fact = mul(fact, [n, 0]);
    const term = div([((n >> 1) & 1) === 0 ? 1 : -1, 0], fact);
    (n % 2 === 0 ? COS_COEFFS : SIN_COEFFS).push(term);
  }
}

function roundDD(a: DD): number {
  return a[0] + a[1];
}

/** Natural log of a positive finite double, correctly rounded. */
export function logCR(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Math.log(x);
  if (x === 1) return 0;
  // x = m·2^k with m ∈ [√½, √2); scaling by powers of two is exact.
  let k = Math.floor(Math.log2(x));
  let m = x / 2 ** k;
  if (m >= Math.SQRT2) {
    m /= 2;
    k += 1;
  } else if (m < Math.SQRT1_2) {
    m *= 2;
    k -= 1;
  }
  // log m = 2·atanh(s), s = (m − 1)/(m + 1); m − 1 is exact, m + 1 is carried as a double-double.
  const s = div([m - 1, 0], twoSum(m, 1));
  const s2 = mul(s, s);
  let series = ODD_RECIPROCALS[LOG_TERMS - 1]!;
  for (let j = LOG_TERMS - 2; j >= 0; j--) series = add(mul(series, s2), ODD_RECIPROCALS[j]!);
  const logM = mul(mul(s, series), [2, 0]);
  return roundDD(add(mul(LN2, [k, 0]), logM));
}

/** θ − q·π/2 in double-double and the quadrant q mod 4 (for |θ| up to ~2^20). */
function reduce(theta: number): { r: DD; quadrant: number } {
  const q = Math.round(theta / PIO2_1);
  const p1 = twoProd(q, PIO2_1);
  // θ − p1.hi is exact when they are close (Sterbenz); the small parts follow.
  let r: DD = twoSum(theta, -p1[0]);
  r = add(r, [-p1[1], 0]);
  r = add(r, neg(twoProd(q, PIO2_2)));
  r = add(r, neg(twoProd(q, PIO2_3)));
  return { r, quadrant: ((q % 4) + 4) % 4 };
}

function sinSeries(r: DD): DD {
  const r2 = mul(r, r);
  let acc = SIN_COEFFS[TRIG_TERMS - 1]!;
  for (let j = TRIG_TERMS - 2; j >= 0; j--) acc = add(mul(acc, r2), SIN_COEFFS[j]!);
  return mul(acc, r);
}

function cosSeries(r: DD): DD {
  const r2 = mul(r, r);
  let acc = COS_COEFFS[TRIG_TERMS - 1]!;
  for (let j = TRIG_TERMS - 2; j >= 0; j--) acc = add(mul(acc, r2), COS_COEFFS[j]!);
  return acc;
}

/** sin and cos of a finite double (|θ| < 2^20), each correctly rounded. */
export function sinCosCR(theta: number): { sin: number; cos: number } {
  if (!Number.isFinite(theta) || Math.abs(theta) >= 2 ** 20) return { sin: Math.sin(theta), cos: Math.cos(theta) };
  const { r, quadrant } = reduce(theta);
  const s = sinSeries(r);
  const c = cosSeries(r);
  switch (quadrant) {
    case 0:
      return { sin: roundDD(s), cos: roundDD(c) };
    case 1:
      return { sin: roundDD(c), cos: -roundDD(s) };
    case 2:
      return { sin: -roundDD(s), cos: -roundDD(c) };
    default:
      return { sin: -roundDD(c), cos: roundDD(s) };
  }
}

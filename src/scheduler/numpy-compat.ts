/**
 * The few numpy (float64) routines diffusers uses to build timestep and sigma schedules, reproduced with numpy's
 * exact evaluation order so the float32 results that come out of them match bit for bit.
 */

/**
 * `np.linspace(start, stop, num, endpoint)` in float64: values are `i·step + start` with step = (stop − start)/div,
 * div = num − 1 (endpoint) or num; with endpoint the last value is set to `stop` exactly; num = 1 gives [start].
 */
export function npLinspace(start: number, stop: number, num: number, endpoint = true): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    // numpy divides first and multiplies by delta only when the step underflows to 0.
    for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  } else {
    for (let i = 0; i < num; i++) out[i] = i * delta + start;
  }
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/**
 * `np.arange(start, stop, step)` in float64. numpy sizes it as ceil((stop − start)/step), stores start and
 * start + step, then fills element i as `start + i·delta` where delta is re-derived as (start + step) − start —
 * which can differ from `step` in the last bit, and that is what numpy then uses.
 */
export function npArange(start: number, stop: number, step: number): Float64Array {
  if (step === 0) throw new Error("arange: step must not be zero");
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length === 0) return out;
  out[0] = start;
  if (length === 1) return out;
  out[1] = start + step;
  const delta = out[1]! - start;
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** `np.round(x)` (decimals = 0): round half to even. */
export function npRoundHalfEven(x: number): number {
  const r = Math.round(x); // rounds half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `np.interp(x, xp, fp)` in float64 for increasing `xp`: left/right values outside the range, the exact `fp[j]` when
 * x equals `xp[j]`, otherwise `slope·(x − xp[j]) + fp[j]` with slope = (fp[j+1] − fp[j])/(xp[j+1] − xp[j]).
 */
export function npInterp(x: ArrayLike<number>, xp: ArrayLike<number>, fp: ArrayLike<number>): Float64Array {
  const n = xp.length;
  if (n === 0 || fp.length !== n) throw new Error(`interp: xp has ${n} points and fp has ${fp.length}; need equal, ≥ 1`);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v >= xp[n - 1]!) out[i] = fp[n - 1]!;
    else if (v < xp[0]!) out[i] = fp[0]!;
    else {
      let lo = 0;
      let hi = n - 1; // invariant: xp[lo] <= v < xp[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (xp[mid]! <= v) lo = mid;
        else hi = mid;
      }
      if (xp[lo] === v) out[i] = fp[lo]!;
      else {
        const slope = (fp[lo + 1]! - fp[lo]!) / (xp[lo + 1]! - xp[lo]!);
        out[i] = slope * (v - xp[lo]!) + fp[lo]!;
      }
    }
  }
  return out;
}

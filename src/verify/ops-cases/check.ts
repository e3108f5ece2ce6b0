import { relativeMaxError } from "../compare.ts";
import type { CaseResult } from "../types.ts";

/**
 * Compares named outputs against references with one bound each; the case fails on the worst. A case that
 * stored no output this runner knows compared nothing, and fails rather than passing unchecked.
 */
export function checkOutputs(name: string, pairs: { what: string; got: ArrayLike<number>; want: ArrayLike<number>; tol: number }[]): CaseResult {
  if (pairs.length === 0) return { name, ok: false, detail: "cannot run: the case stores no output this op's check knows" };
  let worst = 0;
  const failed: string[] = [];
  const parts: string[] = [];
  for (const p of pairs) {
    const e = p.got.length === p.want.length ? relativeMaxError(p.got, p.want) : Infinity;
    worst = Math.max(worst, e);
    parts.push(`${p.what} ${e.toExponential(1)}`);
    if (!(e <= p.tol)) failed.push(`${p.what}: error ${e.toExponential(2)} > tol ${p.tol.toExponential(1)}${p.got.length !== p.want.length ? ` (length ${p.got.length} vs ${p.want.length})` : ""}`);
  }
  return { name, ok: failed.length === 0, error: worst, detail: failed.length ? failed.join("; ") : parts.join(", ") };
}

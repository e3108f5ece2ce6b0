/** Assertions shared by the Node (vitest) and browser (puppeteer) runs of the same cases. */
import { relativeMaxError } from "../../src/verify/compare.ts";

export class AssertionError extends Error {}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

/** max|got−want| / max(max|want|, 1) ≤ tol; NaN anywhere fails. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): number {
  assert(got.length === want.length, `${what}: length ${got.length}, expected ${want.length}`);
  const e = relativeMaxError(got, want);
  assert(e <= tol, `${what}: error ${e.toExponential(3)} > tol ${tol.toExponential(1)}`);
  return e;
}

export async function assertRejects(p: Promise<unknown> | (() => unknown), pattern: RegExp, what: string): Promise<void> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    const msg = (e as Error).message;
    assert(pattern.test(msg), `${what}: error "${msg}" does not match ${pattern}`);
    return;
  }
  throw new AssertionError(`${what}: expected an error matching ${pattern}, none was thrown`);
}

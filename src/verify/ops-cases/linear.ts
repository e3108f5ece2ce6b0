import { linear } from "../../ops/linear.ts";
import { matmul } from "../../ops/matmul.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

const maxAbs = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] as number));
  return m;
};

/**
 * README bound for matmul/linear vs float64: max|y − ref| ≤ 1e-5·√K·max|x|·max|w| (absolute: float32
 * rounding of a K-term sum grows like √K times the term size). checkOutputs measures
 * max|y − ref| / max(max|ref|, 1), so the same bound divided by max(max|ref|, 1) is the relative
 * tolerance that passes exactly the same results. A --tol override is taken as that relative bound.
 */
function matmulTol(k: number, x: ArrayLike<number>, w: ArrayLike<number>, ref: ArrayLike<number>): number {
  return (1e-5 * Math.sqrt(Math.max(k, 1)) * maxAbs(x) * maxAbs(w)) / Math.max(maxAbs(ref), 1);
}

export const runLinear: OpsCaseRunner = async (gpu, st, c, tol) => {
  const xv = st.f32("x");
  const wv = st.f32("weight");
  const k = st.shape("x").at(-1)!;
  const x = gpu.upload(xv, st.shape("x"));
  const w = gpu.upload(wv, st.shape("weight"));
  const bias = gpu.upload(st.f32("bias"), st.shape("bias"));
  const pairs = [];
  if (st.has("y")) {
    const y = await linear(gpu, x, w, bias);
    const want = st.f32("y");
    pairs.push({ what: "y", got: await gpu.read(y), want, tol: tol ?? matmulTol(k, xv, wv, want) });
    y.dispose();
  }
  if (st.has("y_nobias")) {
    const y = await linear(gpu, x, w, null);
    const want = st.f32("y_nobias");
    pairs.push({ what: "y_nobias", got: await gpu.read(y), want, tol: tol ?? matmulTol(k, xv, wv, want) });
    y.dispose();
  }
  for (const t of [x, w, bias]) t.dispose();
  return checkOutputs(c.file, pairs);
};

export const runMatmul: OpsCaseRunner = async (gpu, st, c, tol) => {
  const av = st.f32("a");
  const bv = st.f32("b");
  const a = gpu.upload(av, st.shape("a"));
  const b = gpu.upload(bv, st.shape("b"));
  const y = await matmul(gpu, a, b);
  const want = st.f32("y");
  const r = checkOutputs(c.file, [{ what: "y", got: await gpu.read(y), want, tol: tol ?? matmulTol(st.shape("a").at(-1)!, av, bv, want) }]);
  for (const t of [a, b, y]) t.dispose();
  return r;
};

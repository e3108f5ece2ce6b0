import { geglu } from "../../ops/geglu.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * The case includes GEGLU's projection h = x·Wᵀ + b. That linear belongs to another op, so this
 * runner computes h on the CPU in float64 (rounded once to f32 for upload) and checks the GPU geglu
 * kernel on it. Bound: the README's linear bound 1e-5·√K·max|x|·max|w| (floored at the elementwise
 * 1e-6), since the case's tolerance covers projection + activation.
 */
export const runGeglu: OpsCaseRunner = async (gpu, st, c, tol) => {
  const x = st.f32("x");
  const w = st.f32("proj_weight");
  const bias = st.f32("proj_bias");
  const [n2, k] = st.shape("proj_weight") as [number, number];
  const rows = x.length / k;
  const h = new Float32Array(rows * n2);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n2; j++) {
      let s = bias[j]!;
      for (let i = 0; i < k; i++) s += x[r * k + i]! * w[j * k + i]!;
      h[r * n2 + j] = s;
    }
  }
  const hShape = [...st.shape("x").slice(0, -1), n2];
  const hT = gpu.upload(h, hShape);
  const y = await geglu(gpu, hT);
  const bound = Math.max(1e-6, 1e-5 * Math.sqrt(k) * maxAbs(x) * maxAbs(w));
  const r = checkOutputs(c.file, [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? bound }]);
  hT.dispose();
  y.dispose();
  return r;
};

import { conv2d } from "../../ops/conv2d.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

export const runConv2d: OpsCaseRunner = async (gpu, st, c, tol) => {
  const stride = Number(st.metadata.stride ?? 1);
  const padding = Number(st.metadata.padding ?? 0);
  const xs = st.f32("x");
  const ws = st.f32("weight");
  const [, cin, kh, kw] = st.shape("weight") as [number, number, number, number];
  const x = gpu.upload(xs, st.shape("x"));
  const weight = gpu.upload(ws, st.shape("weight"));
  const bias = st.has("bias") ? gpu.upload(st.f32("bias"), st.shape("bias")) : null;
  const y = await conv2d(gpu, x, weight, bias, { stride, padding });
  // README bound for matmul/linear/conv: 1e-5·√K·max|x|·max|w| with K = Cin·kh·kw.
  const bound = 1e-5 * Math.sqrt(cin * kh * kw) * maxAbs(xs) * maxAbs(ws);
  const r = checkOutputs(c.file, [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? bound }]);
  for (const t of [x, weight, bias, y]) t?.dispose();
  return r;
};

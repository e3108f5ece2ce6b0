import { attention } from "../../ops/attention.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

/** README bounds for attention vs float64: 2e-5, and 5e-5 for the long (Lk = 1030) cases. */
const ATTENTION_TOL = 2e-5;
const ATTENTION_TOL_LONG = 5e-5;
const LONG_LK = 1000;

export const runAttention: OpsCaseRunner = async (gpu, st, c, tol) => {
  const heads = Number(st.metadata.heads);
  if (!Number.isInteger(heads) || heads < 1) throw new Error(`${c.file}: metadata "heads" missing or invalid (${st.metadata.heads})`);
  const q = gpu.upload(st.f32("q"), st.shape("q"));
  const k = gpu.upload(st.f32("k"), st.shape("k"));
  const v = gpu.upload(st.f32("v"), st.shape("v"));
  const y = await attention(gpu, q, k, v, heads);
  const bound = st.shape("k")[1]! > LONG_LK ? ATTENTION_TOL_LONG : ATTENTION_TOL;
  const r = checkOutputs(c.file, [{ what: "out", got: await gpu.read(y), want: st.f32("out"), tol: tol ?? bound }]);
  for (const t of [q, k, v, y]) t.dispose();
  return r;
};

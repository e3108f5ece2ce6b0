import { ACTIVATIONS, activation } from "../../ops/activation.ts";
import { softmax } from "../../ops/softmax.ts";
import { upsampleNearest2x } from "../../ops/upsample.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

/** README bound for elementwise ops and softmax vs float64: 1e-6 (relative to max(|ref|, 1)). */
const ELEMENTWISE_TOL = 1e-6;

export const runActivations: OpsCaseRunner = async (gpu, st, c, tol) => {
  // Every stored tensor but x is an activation's output: one we have no kernel for cannot pass unchecked.
  const unknown = [...st.entries.keys()].filter((n) => n !== "x" && !(ACTIVATIONS as readonly string[]).includes(n));
  if (unknown.length) return { name: c.file, ok: false, detail: `cannot run: activation ${unknown.join(", ")} (known: ${ACTIVATIONS.join(", ")})` };
  const x = gpu.upload(st.f32("x"), st.shape("x"));
  const pairs = [];
  for (const act of ACTIVATIONS) {
    if (!st.has(act)) continue;
    const y = await activation(gpu, act, x);
    pairs.push({ what: act, got: await gpu.read(y), want: st.f32(act), tol: tol ?? ELEMENTWISE_TOL });
    y.dispose();
  }
  x.dispose();
  return checkOutputs(c.file, pairs);
};

export const runSoftmax: OpsCaseRunner = async (gpu, st, c, tol) => {
  const x = gpu.upload(st.f32("x"), st.shape("x"));
  const y = await softmax(gpu, x);
  const r = checkOutputs(c.file, [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? ELEMENTWISE_TOL }]);
  x.dispose();
  y.dispose();
  return r;
};

export const runUpsample: OpsCaseRunner = async (gpu, st, c, tol) => {
  const x = gpu.upload(st.f32("x"), st.shape("x"));
  const y = await upsampleNearest2x(gpu, x);
  // A copy: exact (tol 0) unless overridden.
  const r = checkOutputs(c.file, [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? 0 }]);
  x.dispose();
  y.dispose();
  return r;
};

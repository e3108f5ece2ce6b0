import { groupNorm, layerNorm } from "../../ops/norms.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCase, OpsCaseRunner } from "./types.ts";

/** README bound for norms vs float64: 1e-5. */
const NORM_TOL = 1e-5;

function metaNumber(meta: Record<string, string>, c: OpsCase, key: string): number {
  const v = Number(meta[key]);
  if (meta[key] === undefined || !Number.isFinite(v)) throw new Error(`${c.file}: metadata "${key}" missing or not a number (${meta[key]})`);
  return v;
}

export const runGroupNorm: OpsCaseRunner = async (gpu, st, c, tol) => {
  const groups = metaNumber(st.metadata, c, "groups");
  const eps = metaNumber(st.metadata, c, "eps");
  const x = gpu.upload(st.f32("x"), st.shape("x"));
  const gamma = gpu.upload(st.f32("gamma"), st.shape("gamma"));
  const beta = gpu.upload(st.f32("beta"), st.shape("beta"));
  const y = await groupNorm(gpu, x, gamma, beta, { groups, eps });
  const ySilu = await groupNorm(gpu, x, gamma, beta, { groups, eps, silu: true });
  const pairs = [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? NORM_TOL }];
  if (st.has("y_silu")) pairs.push({ what: "y_silu", got: await gpu.read(ySilu), want: st.f32("y_silu"), tol: tol ?? NORM_TOL });
  for (const t of [x, gamma, beta, y, ySilu]) t.dispose();
  return checkOutputs(c.file, pairs);
};

export const runLayerNorm: OpsCaseRunner = async (gpu, st, c, tol) => {
  const eps = metaNumber(st.metadata, c, "eps");
  const x = gpu.upload(st.f32("x"), st.shape("x"));
  const gamma = gpu.upload(st.f32("gamma"), st.shape("gamma"));
  const beta = gpu.upload(st.f32("beta"), st.shape("beta"));
  const y = await layerNorm(gpu, x, gamma, beta, eps);
  const yPlain = await layerNorm(gpu, x, null, null, eps);
  const pairs = [{ what: "y", got: await gpu.read(y), want: st.f32("y"), tol: tol ?? NORM_TOL }];
  if (st.has("y_noaffine")) pairs.push({ what: "y_noaffine", got: await gpu.read(yPlain), want: st.f32("y_noaffine"), tol: tol ?? NORM_TOL });
  for (const t of [x, gamma, beta, y, yPlain]) t.dispose();
  return checkOutputs(c.file, pairs);
};

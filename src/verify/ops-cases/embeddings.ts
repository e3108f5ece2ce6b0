import { addTimeEmbedding, guidanceScaleEmbedding, timestepEmbedding } from "../../ops/embeddings.ts";
import { checkOutputs } from "./check.ts";
import type { OpsCaseRunner } from "./types.ts";

/** README bounds: timestep embeddings vs y_diffusers_f32 ≤ 2e-4 abs, vs y_f64 ≤ 1e-3. */
const TIMESTEP_TOL_DIFFUSERS = 2e-4;
const TIMESTEP_TOL_F64 = 1e-3;
/** README bound: guidance-scale embedding (arguments up to ~7000 rad) vs y_diffusers_f32 ≤ 1e-3 abs. */
const GUIDANCE_TOL = 1e-3;

export const runTimestepEmbedding: OpsCaseRunner = async (gpu, st, c, tol) => {
  const dim = Number(st.metadata.embedding_dim);
  const opts = {
    flipSinToCos: st.metadata.flip_sin_to_cos === "true",
    downscaleFreqShift: Number(st.metadata.downscale_freq_shift ?? 0),
    scale: Number(st.metadata.scale ?? 1),
    maxPeriod: Number(st.metadata.max_period ?? 10000),
  };
  let y;
  if (st.has("time_ids")) {
    const [batch] = st.shape("time_ids") as [number];
    y = addTimeEmbedding(gpu, st.f32("time_ids"), batch, dim, opts);
  } else {
    y = timestepEmbedding(gpu, st.f32("timesteps"), dim, opts);
  }
  const got = await gpu.read(y);
  y.dispose();
  return checkOutputs(c.file, [
    { what: "y_diffusers_f32", got, want: st.f32("y_diffusers_f32"), tol: tol ?? TIMESTEP_TOL_DIFFUSERS },
    { what: "y_f64", got, want: st.f32("y_f64"), tol: tol ?? TIMESTEP_TOL_F64 },
  ]);
};

export const runGuidanceScaleEmbedding: OpsCaseRunner = async (gpu, st, c, tol) => {
  const dim = Number(st.metadata.embedding_dim);
  const y = guidanceScaleEmbedding(gpu, st.f32("w"), dim);
  const got = await gpu.read(y);
  y.dispose();
  return checkOutputs(c.file, [
    { what: "y_diffusers_f32", got, want: st.f32("y_diffusers_f32"), tol: tol ?? GUIDANCE_TOL },
    { what: "y_f64", got, want: st.f32("y_f64"), tol: tol ?? GUIDANCE_TOL },
  ]);
};

import type { OpsCaseRunner } from "./types.ts";
import { runActivations, runSoftmax, runUpsample } from "./elementwise.ts";
import { runGroupNorm, runLayerNorm } from "./norms.ts";
import { runGeglu } from "./geglu.ts";
import { runGuidanceScaleEmbedding, runTimestepEmbedding } from "./embeddings.ts";
import { runAttention } from "./attention.ts";
import { runConv2d } from "./conv.ts";
import { runLinear, runMatmul } from "./linear.ts";

/**
 * Runners by the manifest's `op` name. An op without a runner fails its case with
 * "cannot run" (the verifier never passes what it did not check).
 */
export const OPS_CASE_RUNNERS: Record<string, OpsCaseRunner> = {
  activations: runActivations,
  softmax: runSoftmax,
  upsample_nearest_2x: runUpsample,
  group_norm: runGroupNorm,
  layer_norm: runLayerNorm,
  geglu: runGeglu,
  get_timestep_embedding: runTimestepEmbedding,
  get_guidance_scale_embedding: runGuidanceScaleEmbedding,
  attention: runAttention,
  conv2d: runConv2d,
  linear: runLinear,
  matmul: runMatmul,
};

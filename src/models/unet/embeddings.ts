/**
 * The UNet's conditioning vector: time_proj (sinusoidal, CPU float64 → upload) → time_embedding
 * (+ LCM's cond_proj(timestep_cond) before linear_1), plus SDXL's "text_time" add_embedding.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { add } from "../../ops/binary.ts";
import { concatChannels } from "../../ops/concat.ts";
import { addTimeEmbedding, timestepEmbedding } from "../../ops/embeddings.ts";
import type { UnetConfig } from "./config.ts";
import { emit, linearLayer, type UnetContext, type UnetTestVariants } from "./context.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../util/float16.ts";

/** The host-computed sinusoidal embeddings of one call, uploaded (the only per-step CPU work). */
export interface TimeProjections {
  /** time_proj(timesteps) [B, time_proj_dim]. */
  timeProj: Tensor;
  /** SDXL: add_time_proj(time_ids) as [B, 6·addition_time_embed_dim]. */
  addTimeProj?: Tensor;
}

export interface ConditioningInputs extends TimeProjections {
  /** LCM: guidance embedding [B, time_cond_proj_dim]. */
  timestepCond?: Tensor;
  /** SDXL: pooled text embeds [B, P]. */
  textEmbeds?: Tensor;
}

/**
 * Computes and uploads time_proj (and SDXL's add_time_proj) for one call, stored in the UNet's dtype
 * (`Unet.dtype`). Call it before recording any dispatch of the call: an upload takes a pool buffer at
 * once, so it must not race pending dispatches.
 */
export function timeProjections(
  gpu: Gpu,
  cfg: UnetConfig,
  timesteps: readonly number[],
  timeIds?: ArrayLike<number>,
  dtype: "f32" | "f16" = "f32",
  variants: UnetTestVariants = {},
): TimeProjections {
  const roundArgument = variants.timeProjArgumentsF16 ? (a: number) => f16BitsToF32(f32ToF16Bits(a)) : undefined;
  const flags = { flipSinToCos: cfg.flipSinToCos, downscaleFreqShift: cfg.freqShift, roundArgument };
  // sin/cos in float64 on the CPU for any model dtype; an f16 UNet gets them rounded once at upload.
  const timeProj = timestepEmbedding(gpu, timesteps, cfg.timeProjDim, flags, dtype);
  if (!cfg.textTime) return { timeProj };
  if (!timeIds) throw new Error(`unet: config addition_embed_type="text_time" needs a time_ids input [${timesteps.length}, 6]`);
  return { timeProj, addTimeProj: addTimeEmbedding(gpu, timeIds, timesteps.length, cfg.textTime.timeEmbedDim, flags, dtype) };
}

/** TimestepEmbedding `module`: linear_2(silu(linear_1(x))). */
async function timestepMlp(ctx: UnetContext, module: string, x: Tensor, dim: number): Promise<Tensor> {
  const h = await linearLayer(ctx, `${module}.linear_1`, x, dim, { activation: "silu" });
  const out = await linearLayer(ctx, `${module}.linear_2`, h, dim);
  h.dispose();
  return out;
}

/** The embedding [B, time_embed_dim] every resnet's time_emb_proj reads (before its SiLU). The inputs are not disposed. */
export async function conditioningEmbedding(ctx: UnetContext, inputs: ConditioningInputs): Promise<Tensor> {
  const { gpu, config: cfg } = ctx;
  const batch = inputs.timeProj.shape[0]!;
  await emit(ctx, "time_proj", inputs.timeProj);
  let temb: Tensor;
  if (cfg.timeCondProjDim !== null) {
    if (!inputs.timestepCond) throw new Error(`unet: config time_cond_proj_dim=${cfg.timeCondProjDim} needs a timestep_cond input [${batch}, ${cfg.timeCondProjDim}]`);
    // diffusers: sample = time_proj + cond_proj(timestep_cond), fused as the linear's residual.
    const withCond = await linearLayer(ctx, "time_embedding.cond_proj", inputs.timestepCond, cfg.timeProjDim, { bias: false, residual: inputs.timeProj });
    temb = await timestepMlp(ctx, "time_embedding", withCond, cfg.timeEmbedDim);
    withCond.dispose();
  } else {
    temb = await timestepMlp(ctx, "time_embedding", inputs.timeProj, cfg.timeEmbedDim);
  }
  await emit(ctx, "time_embedding", temb);
  if (!cfg.textTime) return temb;

  const { timeEmbedDim, projectionInputDim } = cfg.textTime;
  const text = inputs.textEmbeds;
  const timeProj = inputs.addTimeProj;
  if (!text || !timeProj) throw new Error(`unet: config addition_embed_type="text_time" needs text_embeds and time_ids inputs`);
  const timeWidth = timeProj.shape[1]!;
  if (text.rank !== 2 || text.shape[0] !== batch || text.shape[1]! + timeWidth !== projectionInputDim) {
    throw new Error(
      `unet: text_embeds [${text.shape.join(", ")}] + time_ids embedding [${timeProj.shape.join(", ")}] must give [${batch}, ${projectionInputDim}] (projection_class_embeddings_input_dim)`,
    );
  }
  await emit(ctx, "add_time_proj", timeProj.view([(batch * timeWidth) / timeEmbedDim, timeEmbedDim]));
  // concat([text_embeds, time embeds], -1) as a channel concat of [B, C, 1, 1] views.
  const cat = await concatChannels(gpu, text.view([batch, text.shape[1]!, 1, 1]), timeProj.view([batch, timeWidth, 1, 1]));
  const aug = await timestepMlp(ctx, "add_embedding", cat.view([batch, projectionInputDim]), cfg.timeEmbedDim);
  cat.dispose();
  await emit(ctx, "add_embedding", aug);
  const out = await add(gpu, temb, aug);
  temb.dispose();
  aug.dispose();
  return out;
}

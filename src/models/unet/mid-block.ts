/** diffusers UNetMidBlock2DCrossAttn: resnet, then (transformer, resnet) pairs. */
import type { Tensor } from "../../gpu/tensor.ts";
import { emit, type UnetContext } from "./context.ts";
import { resnetBlock } from "./resnet.ts";
import { transformer2d } from "./transformer2d.ts";

/** Mid block on x (not disposed); one transformer/resnet pair, as diffusers builds it with num_layers 1. */
export async function midBlock(ctx: UnetContext, x: Tensor, tembAct: Tensor, context: Tensor): Promise<Tensor> {
  const cfg = ctx.config;
  const c = x.shape[1]!;
  const r0 = await resnetBlock(ctx, "mid_block.resnets.0", x, tembAct, c);
  const a0 = await transformer2d(ctx, "mid_block.attentions.0", r0, context, cfg.midHeads, cfg.midTransformerLayers);
  r0.dispose();
  const r1 = await resnetBlock(ctx, "mid_block.resnets.1", a0, tembAct, c);
  a0.dispose();
  await emit(ctx, "mid_block", r1);
  return r1;
}

/** diffusers CrossAttnDownBlock2D / DownBlock2D: resnets (each followed by a transformer in the cross-attention kind), then a stride-2 conv. */
import type { Tensor } from "../../gpu/tensor.ts";
import { convLayer, emit, type UnetContext } from "./context.ts";
import { resnetBlock } from "./resnet.ts";
import { transformer2d } from "./transformer2d.ts";

/**
 * Down block `i` on x; appends every residual it hands to the up path to `skips` (the block output is
 * the last of them) and returns the output. `x` is not disposed (it is itself a skip).
 */
export async function downBlock(ctx: UnetContext, i: number, x: Tensor, tembAct: Tensor, context: Tensor, skips: Tensor[]): Promise<Tensor> {
  const cfg = ctx.config;
  const module = `down_blocks.${i}`;
  const out = cfg.blockOutChannels[i]!;
  const cross = cfg.downBlockTypes[i] === "CrossAttnDownBlock2D";
  const layers = cfg.layersPerBlock[i]!;
  let h = x;
  for (let j = 0; j < layers; j++) {
    let next = await resnetBlock(ctx, `${module}.resnets.${j}`, h, tembAct, out);
    await emit(ctx, `${module}.resnets.${j}`, next);
    if (cross) {
      const attended = await transformer2d(ctx, `${module}.attentions.${j}`, next, context, cfg.downHeads[i]!, cfg.downTransformerLayers[i]!);
      next.dispose();
      next = attended;
    }
    await emit(ctx, `${module}.res${j}`, next);
    skips.push(next);
    h = next;
  }
  const isFinal = i === cfg.blockOutChannels.length - 1;
  if (!isFinal) {
    h = await convLayer(ctx, `${module}.downsamplers.0.conv`, h, out, 3, { stride: 2, padding: cfg.downsamplePadding });
    await emit(ctx, `${module}.res${layers}`, h);
    skips.push(h);
  }
  await emit(ctx, module, h);
  return h;
}

/** diffusers CrossAttnUpBlock2D / UpBlock2D: (concat skip → resnet [→ transformer]) × (layers + 1), then upsample + conv. */
import type { Tensor } from "../../gpu/tensor.ts";
import { concatChannels } from "../../ops/concat.ts";
import { upsampleNearest2x } from "../../ops/upsample.ts";
import { upsampleNearestTo } from "../../ops/upsample-to.ts";
import { convLayer, emit, type UnetContext } from "./context.ts";
import { resnetBlock } from "./resnet.ts";
import { transformer2d } from "./transformer2d.ts";

/**
 * Up block `i` on x (disposed here: the up path owns its running hidden state); pops and disposes
 * its skips from the end of `skips`. The upsampler resizes to the next skip's spatial size, as
 * diffusers does when the latent is not a multiple of 2^(up blocks − 1) (a plain 2× otherwise).
 */
export async function upBlock(ctx: UnetContext, i: number, x: Tensor, tembAct: Tensor, context: Tensor, skips: Tensor[]): Promise<Tensor> {
  const cfg = ctx.config;
  const module = `up_blocks.${i}`;
  const blocks = cfg.blockOutChannels.length;
  const out = cfg.blockOutChannels[blocks - 1 - i]!;
  const cross = cfg.upBlockTypes[i] === "CrossAttnUpBlock2D";
  const layers = cfg.layersPerBlock[blocks - 1 - i]! + 1;
  let h = x;
  for (let j = 0; j < layers; j++) {
    const skip = skips.pop();
    if (!skip) throw new Error(`unet: ${module} resnet ${j} has no skip tensor left (down/up block layer counts disagree)`);
    const cat = await concatChannels(ctx.gpu, h, skip);
    h.dispose();
    skip.dispose();
    h = await resnetBlock(ctx, `${module}.resnets.${j}`, cat, tembAct, out);
    cat.dispose();
    if (cross) {
      const attended = await transformer2d(ctx, `${module}.attentions.${j}`, h, context, cfg.upHeads[i]!, cfg.upTransformerLayers[i]!);
      h.dispose();
      h = attended;
    }
  }
  if (i < blocks - 1) {
    const next = skips[skips.length - 1];
    if (!next) throw new Error(`unet: ${module} upsampler has no skip to size itself by`);
    const [, , th, tw] = next.shape as [number, number, number, number];
    const [, , hh, hw] = h.shape as [number, number, number, number];
    const up = th === 2 * hh && tw === 2 * hw ? await upsampleNearest2x(ctx.gpu, h) : await upsampleNearestTo(ctx.gpu, h, th, tw);
    h.dispose();
    h = await convLayer(ctx, `${module}.upsamplers.0.conv`, up, out, 3);
    up.dispose();
  }
  await emit(ctx, module, h);
  return h;
}

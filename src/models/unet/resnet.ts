/** diffusers ResnetBlock2D (time_embedding_norm "default", SiLU, output_scale_factor 1). */
import type { Tensor } from "../../gpu/tensor.ts";
import { add } from "../../ops/binary.ts";
import { convLayer, groupNormLayer, linearLayer, type UnetContext } from "./context.ts";

/**
 * h = conv2(silu(norm2(conv1(silu(norm1(x))) + time_emb_proj(silu(temb))))), out = shortcut(x) + h.
 * `tembAct` is silu(temb) [B, E], computed once per UNet call and shared by every resnet. `x` is not disposed.
 */
export async function resnetBlock(ctx: UnetContext, module: string, x: Tensor, tembAct: Tensor, outChannels: number): Promise<Tensor> {
  const { gpu } = ctx;
  const eps = ctx.variants.resnetGroupNormEps ?? ctx.config.normEps;
  const [batch, inChannels] = x.shape as [number, number];
  const n1 = await groupNormLayer(ctx, `${module}.norm1`, x, eps, true);
  const c1 = await convLayer(ctx, `${module}.conv1`, n1, outChannels, 3);
  n1.dispose();
  const t = await linearLayer(ctx, `${module}.time_emb_proj`, tembAct, outChannels);
  // [B, C] → [B, C, 1, 1] so the add broadcasts over H, W.
  const withTime = await add(gpu, c1, t.view([batch, outChannels, 1, 1]));
  c1.dispose();
  t.dispose();
  const n2 = await groupNormLayer(ctx, `${module}.norm2`, withTime, eps, true);
  withTime.dispose();
  const c2 = await convLayer(ctx, `${module}.conv2`, n2, outChannels, 3);
  n2.dispose();
  if (inChannels === outChannels) {
    const out = await add(gpu, x, c2);
    c2.dispose();
    return out;
  }
  const shortcut = await convLayer(ctx, `${module}.conv_shortcut`, x, outChannels, 1);
  const out = await add(gpu, shortcut, c2);
  shortcut.dispose();
  c2.dispose();
  return out;
}

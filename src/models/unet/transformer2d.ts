/**
 * diffusers Transformer2DModel (continuous input) and its BasicTransformerBlock: self-attention,
 * cross-attention to the text embeddings, GEGLU feed-forward, each pre-LayerNorm with a residual.
 */
import type { Tensor } from "../../gpu/tensor.ts";
import { add, mul } from "../../ops/binary.ts";
import { attention } from "../../ops/attention.ts";
import { geglu } from "../../ops/geglu.ts";
import { linear } from "../../ops/linear.ts";
import { layerNorm } from "../../ops/norms.ts";
import { nchwToTokens, tokensToNchw } from "../../ops/transpose.ts";
import { joinRows, rowBlocks, rowsOf } from "../../ops/row-blocks.ts";
import { storageBytes } from "../../gpu/dtype.ts";
import { convLayer, groupNormLayer, linearLayer, pointwiseConvOnTokens, weight, type UnetContext } from "./context.ts";

/** Transformer2DModel's own GroupNorm eps (hard-coded in diffusers, not the config's norm_eps). */
const TRANSFORMER_GROUP_NORM_EPS = 1e-6;
/** BasicTransformerBlock LayerNorm eps (diffusers default; the UNet does not pass norm_eps here). */
const BLOCK_LAYER_NORM_EPS = 1e-5;
/** FeedForward mult: the GEGLU inner width is 4 × the channel count. */
const FF_MULT = 4;

async function norm(ctx: UnetContext, module: string, x: Tensor): Promise<Tensor> {
  const c = x.shape[x.rank - 1]!;
  return ctx.gpu.scope(module, () => layerNorm(ctx.gpu, x, weight(ctx, `${module}.weight`, [c]), weight(ctx, `${module}.bias`, [c]), BLOCK_LAYER_NORM_EPS));
}

/** Attention `module` (to_q/k/v without bias, to_out.0 with bias) over x [B, L, C]; returns to_out(attn) + x. */
async function attentionLayer(ctx: UnetContext, module: string, normed: Tensor, context: Tensor, residual: Tensor, heads: number): Promise<Tensor> {
  const c = residual.shape[2]!;
  const q = await linearLayer(ctx, `${module}.to_q`, normed, c, { bias: false });
  const k = await linearLayer(ctx, `${module}.to_k`, context, c, { bias: false });
  const v = await linearLayer(ctx, `${module}.to_v`, context, c, { bias: false });
  const a = await ctx.gpu.scope(module, () => attention(ctx.gpu, q, k, v, heads));
  q.dispose();
  k.dispose();
  v.dispose();
  const out = await linearLayer(ctx, `${module}.to_out.0`, a, c, { residual });
  a.dispose();
  return out;
}

/**
 * GEGLU feed-forward ff.net.0.proj → h·gelu(gate) → ff.net.2, plus the residual. Its projection h holds 8·C values per
 * token, the UNet's widest tensor (SD at 1024² in f32: 16384 × 2560 × 4 B = 160 MiB, over a 128 MiB binding limit),
 * so where it would not fit one binding the tokens go through in row blocks, which gives the same values.
 */
async function feedForward(ctx: UnetContext, module: string, normed: Tensor, residual: Tensor): Promise<Tensor> {
  const [b, l, c] = residual.shape as [number, number, number];
  const elem = storageBytes([1], normed.dtype);
  const blocks = rowBlocks(ctx.gpu, b * l, 2 * FF_MULT * c * elem, c * elem, ctx.variants.feedForwardBindingBytes);
  if (blocks.length === 1) return feedForwardRows(ctx, module, normed, residual);
  const flatNormed = normed.view([b * l, c]);
  const flatResidual = residual.view([b * l, c]);
  const parts: Tensor[] = [];
  try {
    for (const { start, count } of blocks) parts.push(await feedForwardRows(ctx, module, rowsOf(flatNormed, start, count), rowsOf(flatResidual, start, count)));
  } catch (e) {
    for (const p of parts) p.dispose();
    throw e;
  }
  return (await joinRows(ctx.gpu, parts)).reshape([b, l, c]);
}

async function feedForwardRows(ctx: UnetContext, module: string, normed: Tensor, residual: Tensor): Promise<Tensor> {
  const c = residual.shape[residual.rank - 1]!;
  const inner = FF_MULT * c;
  let gated: Tensor;
  if (ctx.variants.feedForwardGelu === "tanh") {
    gated = await tanhGegluForTests(ctx, `${module}.net.0.proj`, normed, inner);
  } else {
    const h = await linearLayer(ctx, `${module}.net.0.proj`, normed, 2 * inner);
    gated = await ctx.gpu.scope(`${module}.net.0`, () => geglu(ctx.gpu, h));
    h.dispose();
  }
  const out = await linearLayer(ctx, `${module}.net.2`, gated, c, { residual });
  gated.dispose();
  return out;
}

/** Test-only wrong variant: GEGLU with tanh-GELU, from the projection's two row halves (float weights). */
async function tanhGegluForTests(ctx: UnetContext, module: string, x: Tensor, inner: number): Promise<Tensor> {
  const { gpu } = ctx;
  const k = x.shape[x.rank - 1]!;
  const src = ctx.weights.source;
  const full = ctx.weights.prefix + module;
  const w = src.f32(`${full}.weight`);
  const b = src.f32(`${full}.bias`);
  const dt = ctx.weights.dtype;
  const wh = gpu.upload(w.subarray(0, inner * k), [inner, k], dt);
  const wg = gpu.upload(w.subarray(inner * k), [inner, k], dt);
  const bh = gpu.upload(b.subarray(0, inner), [inner], dt);
  const bg = gpu.upload(b.subarray(inner), [inner], dt);
  const hid = await linear(gpu, x, wh, bh);
  const gate = await linear(gpu, x, wg, bg, { activation: "gelu_tanh" });
  const out = await mul(gpu, hid, gate);
  for (const t of [wh, wg, bh, bg, hid, gate]) t.dispose();
  return out;
}

/** BasicTransformerBlock on tokens x [B, L, C]; `x` is not disposed. */
async function basicTransformerBlock(ctx: UnetContext, module: string, x: Tensor, context: Tensor, heads: number): Promise<Tensor> {
  const n1 = await norm(ctx, `${module}.norm1`, x);
  const h1 = await attentionLayer(ctx, `${module}.attn1`, n1, n1, x, heads);
  n1.dispose();
  const n2 = await norm(ctx, `${module}.norm2`, h1);
  const h2 = await attentionLayer(ctx, `${module}.attn2`, n2, context, h1, heads);
  n2.dispose();
  h1.dispose();
  const n3 = await norm(ctx, `${module}.norm3`, h2);
  const h3 = await feedForward(ctx, `${module}.ff`, n3, h2);
  n3.dispose();
  h2.dispose();
  return h3;
}

/**
 * Transformer2DModel `module` on x [B, C, H, W] with `layers` blocks: GroupNorm → proj_in (1×1 conv or
 * linear) → blocks on [B, H·W, C] tokens → proj_out → + x. `x` is not disposed.
 */
export async function transformer2d(ctx: UnetContext, module: string, x: Tensor, context: Tensor, heads: number, layers: number): Promise<Tensor> {
  const { gpu } = ctx;
  const [, c, h, w] = x.shape as [number, number, number, number];
  if (c % heads !== 0) throw new Error(`unet: ${module} has ${c} channels, not divisible by ${heads} attention heads`);
  const normed = await groupNormLayer(ctx, `${module}.norm`, x, TRANSFORMER_GROUP_NORM_EPS, false);
  // proj_in / proj_out run on the tokens: linears, or (SD 1.5) 1×1 convs with float weights, as linears
  // (pointwiseConvOnTokens); a conv quantized at load keeps the conv kernel on NCHW.
  const onTokens = (name: string) => ctx.config.useLinearProjection || !ctx.quantizedConvs.has(`${module}.${name}`);
  const projectTokens = (name: string, t: Tensor) =>
    ctx.config.useLinearProjection ? linearLayer(ctx, `${module}.${name}`, t, c) : pointwiseConvOnTokens(ctx, `${module}.${name}`, t, c);
  let tokens: Tensor;
  if (onTokens("proj_in")) {
    const t = await nchwToTokens(gpu, normed);
    tokens = await projectTokens("proj_in", t);
    t.dispose();
  } else {
    const p = await convLayer(ctx, `${module}.proj_in`, normed, c, 1);
    tokens = await nchwToTokens(gpu, p);
    p.dispose();
  }
  normed.dispose();
  for (let i = 0; i < layers; i++) {
    const next = await basicTransformerBlock(ctx, `${module}.transformer_blocks.${i}`, tokens, context, heads);
    tokens.dispose();
    tokens = next;
  }
  let projected: Tensor;
  if (onTokens("proj_out")) {
    const t = await projectTokens("proj_out", tokens);
    projected = await tokensToNchw(gpu, t, h, w);
    t.dispose();
  } else {
    const t = await tokensToNchw(gpu, tokens, h, w);
    projected = await convLayer(ctx, `${module}.proj_out`, t, c, 1);
    t.dispose();
  }
  tokens.dispose();
  const out = await add(gpu, projected, x);
  projected.dispose();
  return out;
}

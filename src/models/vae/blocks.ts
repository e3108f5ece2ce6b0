/**
 * The VAE decoder's building blocks (diffusers ResnetBlock2D without time embedding, the mid-block
 * Attention over H·W tokens, Upsample2D), as functions of (gpu, weights, x).
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { Tensor } from "../../gpu/tensor.ts";
import { attention, ATTENTION_MAX_HEAD_DIM } from "../../ops/attention.ts";
import { add } from "../../ops/binary.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { linear } from "../../ops/linear.ts";
import { matmul } from "../../ops/matmul.ts";
import { groupNorm } from "../../ops/norms.ts";
import { scale } from "../../ops/scale.ts";
import { softmax } from "../../ops/softmax.ts";
import { nchwToTokens, tokensToNchw } from "../../ops/transpose.ts";
import { upsampleNearest2x } from "../../ops/upsample.ts";
import type { ModelWeights } from "../weights.ts";

/** Deliberately wrong numerics, or alternative paths, for tests. */
export interface VaeTestVariants {
  /** GroupNorm eps everywhere (diffusers: 1e-6). */
  groupNormEps?: number;
  /** Force the mid-block attention path: "flash" (the attention op) or "matmul" (scores materialized). */
  attention?: "flash" | "matmul";
}

export interface VaeBlockContext {
  gpu: Gpu;
  weights: ModelWeights;
  groups: number;
  eps: number;
  variants: VaeTestVariants;
}

/** A reshaped view sharing `t`'s buffer (no copy, never frees it). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== t.numel) throw new Error(`vae: cannot view ${t} as [${shape.join(", ")}] (${n} elements)`);
  return new Tensor([...shape], t.dtype, t.buffer, t.byteOffset, t.byteLength);
}

/** nn.Conv2d `module` with a square kernel and "same" padding. */
export function convLayer(ctx: VaeBlockContext, module: string, x: Tensor, out: number, k: number): Promise<Tensor> {
  const w = ctx.weights.get(`${module}.weight`, [out, x.shape[1]!, k, k]);
  return conv2d(ctx.gpu, x, w, ctx.weights.get(`${module}.bias`, [out]), { stride: 1, padding: (k - 1) / 2 });
}

export function groupNormLayer(ctx: VaeBlockContext, module: string, x: Tensor, fuseSilu: boolean): Promise<Tensor> {
  const c = x.shape[1]!;
  return groupNorm(ctx.gpu, x, ctx.weights.get(`${module}.weight`, [c]), ctx.weights.get(`${module}.bias`, [c]), { groups: ctx.groups, eps: ctx.eps, silu: fuseSilu });
}

/** ResnetBlock2D (no temb): shortcut(x) + conv2(silu(norm2(conv1(silu(norm1 x))))). `x` is not disposed. */
export async function resnet(ctx: VaeBlockContext, module: string, x: Tensor, out: number): Promise<Tensor> {
  const n1 = await groupNormLayer(ctx, `${module}.norm1`, x, true);
  const c1 = await convLayer(ctx, `${module}.conv1`, n1, out, 3);
  n1.dispose();
  const n2 = await groupNormLayer(ctx, `${module}.norm2`, c1, true);
  c1.dispose();
  const c2 = await convLayer(ctx, `${module}.conv2`, n2, out, 3);
  n2.dispose();
  const shortcut = x.shape[1] === out ? x : await convLayer(ctx, `${module}.conv_shortcut`, x, out, 1);
  const y = await add(ctx.gpu, shortcut, c2);
  if (shortcut !== x) shortcut.dispose();
  c2.dispose();
  return y;
}

/** Linear projection under either name diffusers has used (to_q / query …); 4-D 1×1 conv weights are viewed as [C, C]. */
function projection(ctx: VaeBlockContext, module: string, names: readonly [string, string], x: Tensor, c: number): Promise<Tensor> {
  const name = ctx.weights.has(`${module}.${names[0]}.weight`) ? names[0] : names[1];
  const shape = ctx.weights.shape(`${module}.${name}.weight`);
  const w = ctx.weights.get(`${module}.${name}.weight`, shape.length === 4 ? [c, c, 1, 1] : [c, c]);
  return linear(ctx.gpu, x, shape.length === 4 ? w.view([c, c]) : w, ctx.weights.get(`${module}.${name}.bias`, [c]));
}

/**
 * Mid-block Attention (one head over H·W tokens, residual): x + to_out(softmax(q kᵀ/√C) v), q/k/v from
 * group_norm(x). Heads wider than the flash kernel supports (SD's 512 channels) use matmul + softmax,
 * which holds the [H·W, H·W] scores (64 MB at 64×64 latents).
 */
export async function midAttention(ctx: VaeBlockContext, module: string, x: Tensor): Promise<Tensor> {
  const { gpu } = ctx;
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const n = await groupNormLayer(ctx, `${module}.group_norm`, x, false);
  const tokens = await nchwToTokens(gpu, n);
  n.dispose();
  const q = await projection(ctx, module, ["to_q", "query"], tokens, c);
  const k = await projection(ctx, module, ["to_k", "key"], tokens, c);
  const v = await projection(ctx, module, ["to_v", "value"], tokens, c);
  tokens.dispose();
  const path = ctx.variants.attention ?? (c <= ATTENTION_MAX_HEAD_DIM ? "flash" : "matmul");
  let a: Tensor;
  if (path === "flash") {
    a = await attention(gpu, q, k, v, 1);
  } else {
    // kᵀ per batch is k's NCHW layout [B, C, H·W].
    const kt = await tokensToNchw(gpu, k, h, w);
    const s = await matmul(gpu, q, kt.view([b, c, h * w]));
    kt.dispose();
    const scaled = await scale(gpu, s, 1 / Math.sqrt(c));
    s.dispose();
    const p = await softmax(gpu, scaled);
    scaled.dispose();
    a = await matmul(gpu, p, v);
    p.dispose();
  }
  q.dispose();
  k.dispose();
  v.dispose();
  const outName = ctx.weights.has(`${module}.to_out.0.weight`) ? "to_out.0" : "proj_attn";
  const o = await projection(ctx, module, [outName, outName], a, c);
  a.dispose();
  const back = await tokensToNchw(gpu, o, h, w);
  o.dispose();
  const y = await add(gpu, back, x);
  back.dispose();
  return y;
}

/** Upsample2D: nearest 2× then a 3×3 conv. `x` is not disposed. */
export async function upsample(ctx: VaeBlockContext, module: string, x: Tensor): Promise<Tensor> {
  const u = await upsampleNearest2x(ctx.gpu, x);
  const y = await convLayer(ctx, `${module}.conv`, u, x.shape[1]!, 3);
  u.dispose();
  return y;
}

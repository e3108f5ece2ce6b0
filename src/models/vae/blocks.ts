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
import type { ModelWeights } from "../weights.ts";
import { addSlices, convSlices, disposeSlices, groupNormSlices, upsampleSlices, type Slices } from "./channel-slices.ts";

/** Deliberately wrong numerics, or alternative paths, for tests. */
export interface VaeTestVariants {
  /** GroupNorm eps everywhere (diffusers: 1e-6). */
  groupNormEps?: number;
  /** Force the mid-block attention path: "flash" (the attention op) or "matmul" (scores materialized). */
  attention?: "flash" | "matmul";
  /** Matmul path: query rows per score block (default: the whole batch when its scores fit one binding). */
  attentionBlockRows?: number;
  /** Slice activations over this many bytes by channels (default: the adapter's maxStorageBufferBindingSize). */
  maxSliceBytes?: number;
}

export interface VaeBlockContext {
  gpu: Gpu;
  weights: ModelWeights;
  groups: number;
  eps: number;
  variants: VaeTestVariants;
  /** Weights cut for sliced layers (channel-slices.ts), kept while decodes keep slicing the same way. */
  weightSlices: Map<string, Tensor>;
  /** The weightSlices keys this decode used (the others are freed after it). */
  usedSlices: Set<string>;
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

/** ResnetBlock2D (no temb) on channel slices: shortcut(x) + conv2(silu(norm2(conv1(silu(norm1 x))))). `xs` are not disposed. */
export async function resnet(ctx: VaeBlockContext, module: string, xs: Slices, out: number): Promise<Slices> {
  const n1 = await groupNormSlices(ctx, `${module}.norm1`, xs, true);
  const c1 = await convSlices(ctx, `${module}.conv1`, n1, out, 3).finally(() => disposeSlices(n1));
  const n2 = await groupNormSlices(ctx, `${module}.norm2`, c1, true).finally(() => disposeSlices(c1));
  const c2 = await convSlices(ctx, `${module}.conv2`, n2, out, 3).finally(() => disposeSlices(n2));
  try {
    const cin = xs.reduce((a, x) => a + x.shape[1]!, 0);
    const shortcut = cin === out ? xs : await convSlices(ctx, `${module}.conv_shortcut`, xs, out, 1);
    try {
      return await addSlices(ctx.gpu, shortcut, c2);
    } finally {
      if (shortcut !== xs) disposeSlices(shortcut);
    }
  } finally {
    disposeSlices(c2);
  }
}

/** Linear projection under either name diffusers has used (to_q / query …); 4-D 1×1 conv weights are viewed as [C, C]. */
function projection(ctx: VaeBlockContext, module: string, names: readonly [string, string], x: Tensor, c: number): Promise<Tensor> {
  const name = ctx.weights.has(`${module}.${names[0]}.weight`) ? names[0] : names[1];
  const shape = ctx.weights.shape(`${module}.${name}.weight`);
  const w = ctx.weights.get(`${module}.${name}.weight`, shape.length === 4 ? [c, c, 1, 1] : [c, c]);
  return linear(ctx.gpu, x, shape.length === 4 ? w.view([c, c]) : w, ctx.weights.get(`${module}.${name}.bias`, [c]));
}

/**
 * softmax(q kᵀ/√C) v for one head, q/k/v [B, T, C], with the scores materialized a block of query rows at a time:
 * each block's [rows, T] scores stay within the adapter's binding limit (SDXL's 1024² latents have T = 16384, whose
 * full scores would be 1 GiB), and the whole batch goes in one block when it fits. Both products read their
 * right-hand side as [N, K] (`transposeB`): k as stored, and v as its NCHW layout [B, C, T], the layout the
 * CPU-adapter matmul kernels take.
 */
async function blockedAttention(ctx: VaeBlockContext, unscaledQ: Tensor, k: Tensor, v: Tensor): Promise<Tensor> {
  const { gpu } = ctx;
  const [b, t, c] = unscaledQ.shape as [number, number, number];
  const bytes = unscaledQ.byteLength / unscaledQ.numel;
  // 1/√C goes on q, a [T, C] pass, not on the [T, T] scores: fewer bytes, and f16 scores are rounded once, at the
  // logits' size, instead of first at √C = 22.6 times it and again after scaling (3–7 % error in the weights at
  // logits of 50–100 before).
  const q = await scale(gpu, unscaledQ, 1 / Math.sqrt(c));
  const vt = await tokensToNchw(gpu, v, 1, t); // [B, C, 1, T] = vᵀ per batch
  const vtb = vt.view([b, c, t]);
  try {
    const scoreRowBytes = t * bytes;
    const limit = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
    if (ctx.variants.attentionBlockRows === undefined && b * t * scoreRowBytes <= limit) return await attendBlock(gpu, q, k, vtb);
    // A block's q rows and output rows are bound at an offset: keep it a multiple of the 256-byte binding alignment.
    const align = 256 / gcd(256, c * bytes);
    let rows = ctx.variants.attentionBlockRows ?? Math.floor(limit / scoreRowBytes);
    rows = Math.max(align, Math.floor(Math.min(rows, t) / align) * align);
    if (rows * scoreRowBytes > limit) {
      throw new Error(`VAE attention: ${t} tokens need score blocks of at least ${rows} rows (${scoreRowBytes * rows} bytes), over this adapter's maxStorageBufferBindingSize of ${limit}`);
    }
    if (b > 1 && (t * c * bytes) % 256 !== 0) {
      throw new Error(`VAE attention: a batch of ${b} in score blocks needs each image's q (${t}×${c}, ${t * c * bytes} bytes) to be a multiple of the 256-byte binding alignment`);
    }
    const out = gpu.empty([b, t, c], q.dtype, "vae_attention");
    try {
      for (let i = 0; i < b; i++) {
        const kb = slice(k, i * t * c, [t, c]);
        const vb = slice(vtb, i * c * t, [c, t]);
        for (let r0 = 0; r0 < t; r0 += rows) {
          const n = Math.min(rows, t - r0);
          const o = await attendBlock(gpu, slice(q, (i * t + r0) * c, [n, c]), kb, vb);
          try {
            gpu.copy(o, slice(out, (i * t + r0) * c, [n, c]));
          } finally {
            o.dispose();
          }
        }
      }
      return out;
    } catch (e) {
      out.dispose();
      throw e;
    }
  } finally {
    vt.dispose();
    q.dispose();
  }
}

/** softmax(q kᵀ) vᵀᵀ for q [..., rows, C] (already ×1/√C), k [..., T, C], vt [..., C, T] → [..., rows, C]. */
async function attendBlock(gpu: Gpu, q: Tensor, k: Tensor, vt: Tensor): Promise<Tensor> {
  const s = await matmul(gpu, q, k, { transposeB: true });
  const p = await softmax(gpu, s);
  s.dispose();
  try {
    return await matmul(gpu, p, vt, { transposeB: true });
  } finally {
    p.dispose();
  }
}

/** Elements [start, start + numel(shape)) of `t` as a view (no copy, never frees it). */
function slice(t: Tensor, start: number, shape: readonly number[]): Tensor {
  const bytes = t.byteLength / t.numel;
  const n = shape.reduce((a, x) => a * x, 1);
  return new Tensor([...shape], t.dtype, t.buffer, t.byteOffset + start * bytes, n * bytes);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Mid-block Attention (one head over H·W tokens, residual): x + to_out(softmax(q kᵀ/√C) v), q/k/v from
 * group_norm(x). Heads wider than the flash kernel supports (SD's 512 channels) use matmul + softmax
 * (blockedAttention), which holds [H·W, H·W] scores (64 MB at 64×64 latents) or blocks of their rows.
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
    a = await blockedAttention(ctx, q, k, v);
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

/** Upsample2D on channel slices: nearest 2× then a 3×3 conv. `xs` are not disposed. */
export async function upsample(ctx: VaeBlockContext, module: string, xs: Slices): Promise<Slices> {
  const u = await upsampleSlices(ctx, xs);
  const c = xs.reduce((a, x) => a + x.shape[1]!, 0);
  return convSlices(ctx, `${module}.conv`, u, c, 3).finally(() => disposeSlices(u));
}

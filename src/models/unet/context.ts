/**
 * What every UNet block function receives: the GPU, the weights (float by checkpoint name, quantized
 * linears by module name), the config, the activation hook and the test-only variant switches. Block
 * code calls the layer helpers here, which check weight shapes and pick the float or quantized op.
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { Tensor } from "../../gpu/tensor.ts";
import type { Activation } from "../../ops/activation.ts";
import { conv2d, type QuantizedConvWeight } from "../../ops/conv2d.ts";
import { linear as linearOp } from "../../ops/linear.ts";
import { groupNorm as groupNormOp } from "../../ops/norms.ts";
import type { QuantizedWeight } from "../../ops/quant-weight.ts";
import type { ModelWeights } from "../weights.ts";
import type { UnetConfig } from "./config.ts";

/**
 * Called with each hooked module's output, named as in the golden activations README (`time_proj`,
 * `down_blocks.i.resj`, `up_blocks.i`, `conv_norm_out`, …) plus `down_blocks.i.resnets.j` (a resnet's
 * output before its transformer, for localizing errors).
 */
export type UnetHook = (module: string, t: Tensor) => void | Promise<void>;

/**
 * Deliberately wrong numerics, for tests only: each must make the activation comparison FAIL,
 * which shows the comparison can tell the variants apart.
 */
export interface UnetTestVariants {
  /** GroupNorm eps of the resnets (diffusers: config norm_eps, 1e-5 in SD). */
  resnetGroupNormEps?: number;
  /** GELU inside the feed-forward's GEGLU (diffusers: erf). */
  feedForwardGelu?: "erf" | "tanh";
  /**
   * Round time_proj's sin/cos arguments (up to ~1000 rad) to f16, as a UNet computing its timestep
   * embedding in half precision would (ours: float64 on the CPU, whatever the model dtype).
   */
  timeProjArgumentsF16?: boolean;
  /**
   * Not a wrong variant: a binding limit (bytes) for the feed-forward's row blocks in place of the adapter's, so the
   * tiny test models take the path SD at 1024² takes; the activations must still match.
   */
  feedForwardBindingBytes?: number;
}

export interface UnetContext {
  gpu: Gpu;
  /** Float weights by full checkpoint name (e.g. "down_blocks.0.resnets.0.conv1.weight"). */
  weights: ModelWeights;
  /** Quantized nn.Linear weights by module name (e.g. "mid_block.attentions.0.proj_in"). */
  quantized: ReadonlyMap<string, QuantizedWeight>;
  /** Convs quantized at load (policy `all`); the conv kernel dequantizes them in its weight read. */
  quantizedConvs: ReadonlyMap<string, QuantizedConvWeight>;
  config: UnetConfig;
  hook?: UnetHook;
  variants: UnetTestVariants;
  /** Checkpoint names the forward read (for `Unet.unused()`). */
  used: Set<string>;
}

/** The float weight `name` (module-relative to the UNet), shape-checked against what the config implies. */
export function weight(ctx: UnetContext, name: string, shape: readonly number[]): Tensor {
  ctx.used.add(name);
  return ctx.weights.get(name, shape);
}

export async function emit(ctx: UnetContext, module: string, t: Tensor): Promise<void> {
  if (ctx.hook) await ctx.hook(module, t);
}

export interface LinearLayerOptions {
  bias?: boolean;
  activation?: Activation | "none";
  residual?: Tensor;
}

/** nn.Linear `module` (weight [outFeatures, K] with K = x's last dim); quantized when the load quantized it. */
export function linearLayer(ctx: UnetContext, module: string, x: Tensor, outFeatures: number, opts: LinearLayerOptions = {}): Promise<Tensor> {
  const k = x.shape[x.rank - 1]!;
  const hasBias = opts.bias ?? true;
  const bias = hasBias ? weight(ctx, `${module}.bias`, [outFeatures]) : null;
  const q = ctx.quantized.get(module);
  if (q) {
    ctx.used.add(`${module}.weight`);
    if (q.n !== outFeatures || q.k !== k) throw new Error(`unet: quantized "${module}.weight" is [${q.n}, ${q.k}], the model config expects [${outFeatures}, ${k}]`);
    return ctx.gpu.scope(module, () => linearOp(ctx.gpu, x, q, bias, { activation: opts.activation, residual: opts.residual }));
  }
  const w = weight(ctx, `${module}.weight`, [outFeatures, k]);
  // Module scopes name the layer in NaN reports (Plan.runCheckingFinite) and profiles.
  return ctx.gpu.scope(module, () => linearOp(ctx.gpu, x, w, bias, { activation: opts.activation, residual: opts.residual }));
}

/** nn.Conv2d `module` with a square kernel, "same"-style padding (k−1)/2 unless given. */
export function convLayer(ctx: UnetContext, module: string, x: Tensor, outChannels: number, kernel: number, opts: { stride?: number; padding?: number } = {}): Promise<Tensor> {
  const cin = x.shape[1]!;
  const q = ctx.quantizedConvs.get(module);
  if (q && (q.shape[0] !== outChannels || q.shape[1] !== cin || q.shape[2] !== kernel)) {
    throw new Error(`unet: quantized "${module}.weight" is [${q.shape.join(", ")}], the model config expects [${outChannels}, ${cin}, ${kernel}, ${kernel}]`);
  }
  if (q) ctx.used.add(`${module}.weight`);
  const w = q ?? weight(ctx, `${module}.weight`, [outChannels, cin, kernel, kernel]);
  const b = weight(ctx, `${module}.bias`, [outChannels]);
  return ctx.gpu.scope(module, () => conv2d(ctx.gpu, x, w, b, { stride: opts.stride ?? 1, padding: opts.padding ?? (kernel - 1) / 2 }));
}

/**
 * nn.Conv2d 1×1 `module` (float weights, stride 1, no padding) applied to token rows x [B, L, Cin] → [B, L, Cout]:
 * its weight [Cout, Cin, 1, 1] viewed as a linear's [Cout, Cin], the same products as the conv on NCHW. Transformer2D's
 * conv projections (SD 1.5) run it on the tokens they take or give, so the transpose stays one: the linear kernels
 * take it 1.6–2.0× faster than the 1×1 conv kernel on lavapipe, 3.8–4.1× on SwiftShader (kernels-bench/RESULTS.md).
 */
export function pointwiseConvOnTokens(ctx: UnetContext, module: string, x: Tensor, outChannels: number): Promise<Tensor> {
  const cin = x.shape[x.rank - 1]!;
  if (ctx.quantizedConvs.has(module)) throw new Error(`unet: "${module}" was quantized as a conv; run it with convLayer on NCHW`);
  const w = weight(ctx, `${module}.weight`, [outChannels, cin, 1, 1]).view([outChannels, cin]);
  const b = weight(ctx, `${module}.bias`, [outChannels]);
  return ctx.gpu.scope(module, () => linearOp(ctx.gpu, x, w, b));
}

/** nn.GroupNorm `module` over x's channels, optionally followed by SiLU (fused). */
export function groupNormLayer(ctx: UnetContext, module: string, x: Tensor, eps: number, silu: boolean): Promise<Tensor> {
  const c = x.shape[1]!;
  const gamma = weight(ctx, `${module}.weight`, [c]);
  const beta = weight(ctx, `${module}.bias`, [c]);
  return ctx.gpu.scope(module, () => groupNormOp(ctx.gpu, x, gamma, beta, { groups: ctx.config.normGroups, eps, silu }));
}

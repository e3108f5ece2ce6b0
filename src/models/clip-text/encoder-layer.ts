/**
 * One CLIP encoder layer (transformers CLIPEncoderLayer), shared by the text and vision towers:
 * pre-LN, x + out_proj(attn(LN1 x)), then x + fc2(act(fc1(LN2 x))).
 */
import type { Gpu } from "../../gpu/runtime.ts";
import { Tensor } from "../../gpu/tensor.ts";
import type { Activation } from "../../ops/activation.ts";
import { attention } from "../../ops/attention.ts";
import { linear } from "../../ops/linear.ts";
import { layerNorm } from "../../ops/norms.ts";
import type { ModelWeights } from "../weights.ts";
import type { ClipEncoderConfig } from "./config.ts";

/** Called with each hooked module's output (transformers module names); read it before returning. */
export type ClipHook = (module: string, t: Tensor) => void | Promise<void>;

/** The first `rows` rows of a row-major [R, C] tensor as a view (offset 0, so no alignment issue). */
export function leadingRows(t: Tensor, rows: number): Tensor {
  const [r, c] = t.shape as [number, number];
  if (rows > r) throw new Error(`clip: asked for ${rows} rows of ${t}, which has ${r}`);
  if (rows === r) return t;
  const bytes = (t.byteLength / (r * c)) * rows * c;
  return new Tensor([rows, c], t.dtype, t.buffer, t.byteOffset, bytes);
}

/** nn.LayerNorm `module` over the last dim. */
export function layerNormLayer(gpu: Gpu, w: ModelWeights, module: string, x: Tensor, eps: number): Promise<Tensor> {
  const c = x.shape[x.rank - 1]!;
  return layerNorm(gpu, x, w.get(`${module}.weight`, [c]), w.get(`${module}.bias`, [c]), eps);
}

/** nn.Linear `module` (with bias unless `bias: false`); `out` features, K from x; quantized when the load quantized it. */
export function linearLayer(gpu: Gpu, w: ModelWeights, module: string, x: Tensor, out: number, opts: { activation?: Activation; residual?: Tensor; bias?: boolean } = {}): Promise<Tensor> {
  const k = x.shape[x.rank - 1]!;
  const q = w.quantizedLinear(module);
  if (q && (q.n !== out || q.k !== k)) throw new Error(`clip: quantized "${w.prefix}${module}.weight" is [${q.n}, ${q.k}], the model config expects [${out}, ${k}]`);
  const bias = opts.bias === false ? null : w.get(`${module}.bias`, [out]);
  return linear(gpu, x, q ?? w.get(`${module}.weight`, [out, k]), bias, { activation: opts.activation, residual: opts.residual });
}

/**
 * One layer on x [B, L, D] (not disposed) → [B, L, D]. `w` is scoped to the layer ("…layers.i.").
 * q is scaled by head_dim^-0.5 inside the attention op, before q·k, as transformers does.
 */
export async function clipEncoderLayer(gpu: Gpu, w: ModelWeights, x: Tensor, cfg: ClipEncoderConfig, opts: { causal: boolean; activation: Activation }): Promise<Tensor> {
  const d = cfg.hiddenSize;
  const h1 = await layerNormLayer(gpu, w, "layer_norm1", x, cfg.layerNormEps);
  const q = await linearLayer(gpu, w, "self_attn.q_proj", h1, d);
  const k = await linearLayer(gpu, w, "self_attn.k_proj", h1, d);
  const v = await linearLayer(gpu, w, "self_attn.v_proj", h1, d);
  h1.dispose();
  const a = await attention(gpu, q, k, v, cfg.numHeads, { causal: opts.causal });
  q.dispose();
  k.dispose();
  v.dispose();
  const x1 = await linearLayer(gpu, w, "self_attn.out_proj", a, d, { residual: x });
  a.dispose();
  const h2 = await layerNormLayer(gpu, w, "layer_norm2", x1, cfg.layerNormEps);
  const f1 = await linearLayer(gpu, w, "mlp.fc1", h2, cfg.intermediateSize, { activation: opts.activation });
  h2.dispose();
  const out = await linearLayer(gpu, w, "mlp.fc2", f1, d, { residual: x1 });
  f1.dispose();
  x1.dispose();
  return out;
}

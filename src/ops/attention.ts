import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectRank, floatDType, sameDType, shapeStr, type FloatDType } from "./common.ts";

/** Query rows per workgroup (Q_TILE in attention.wgsl). */
const ATTENTION_Q_TILE = 64;
/** Thread columns that split the head's channels (8 in attention.wgsl). */
const CHANNEL_THREADS = 8;
/**
 * Largest head size: SD uses 40/64/80/160. The 32-key K/V tile of d = 160 takes 20 KB, the score
 * tile 8 KB, within lavapipe's 32 KB of workgroup memory.
 */
export const ATTENTION_MAX_HEAD_DIM = 160;

interface AttentionKey {
  dtype: FloatDType;
  headDim: number;
  /** Causal mask: query i sees keys j ≤ i only (CLIP's text tower). */
  causal?: boolean;
}

/** Channel vec4s per thread (≤ 2: 64-channel chunks), the chunk's channels split over CHANNEL_THREADS. */
export function channelVec4s(headDim: number): number {
  return Math.min(2, Math.ceil(headDim / (4 * CHANNEL_THREADS)));
}

/** Output-channel chunks per head (workgroups along z). */
export function channelChunks(headDim: number): number {
  return Math.ceil(headDim / (4 * CHANNEL_THREADS * channelVec4s(headDim)));
}

export const attentionKernel = defineKernel<AttentionKey>({
  name: "attention",
  file: "attention.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    HEAD_DIM: `${k.headDim}u`,
    CH_VEC4: `${channelVec4s(k.headDim)}u`,
    KT_ROWS: `${Math.max(k.headDim, channelVec4s(k.headDim) * 4 * CHANNEL_THREADS)}u`,
    CAUSAL: !!k.causal,
  }),
  label: (k) => `attention_flash_d${k.headDim}${k.causal ? "_causal" : ""}_${k.dtype}`,
});

/**
 * Multi-head scaled dot-product attention (no mask): q [B, Lq, H·d], k/v [B, Lk, H·d] →
 * [B, Lq, H·d], scale 1/√d. Self- and cross-attention, any Lq/Lk; memory O(B·L·H·d).
 * `causal` masks keys j > query i (self-attention only).
 */
export async function attention(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, heads: number, opts: { causal?: boolean } = {}): Promise<Tensor> {
  const op = "attention";
  const dtype = floatDType(gpu, op, "q", q);
  sameDType(op, { q, k, v });
  expectRank(op, "q", q, 3);
  expectRank(op, "k", k, 3);
  expectRank(op, "v", v, 3);
  const [b, lq, width] = q.shape as [number, number, number];
  const lk = k.shape[1]!;
  if (k.shape[0] !== b || v.shape[0] !== b) throw new OpInputError(op, `batch mismatch: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`);
  if (k.shape[2] !== width || v.shape[2] !== width) throw new OpInputError(op, `channel mismatch: q has ${width} channels, k ${k.shape[2]}, v ${v.shape[2]}`);
  if (v.shape[1] !== lk) throw new OpInputError(op, `k has ${lk} tokens but v has ${v.shape[1]}`);
  if (!Number.isInteger(heads) || heads < 1 || width % heads !== 0) throw new OpInputError(op, `heads ${heads} do not divide the channel dim ${width}`);
  const headDim = width / heads;
  if (headDim > ATTENTION_MAX_HEAD_DIM) throw new OpInputError(op, `head dim ${headDim} > ${ATTENTION_MAX_HEAD_DIM} is not supported`);
  if (lq > 0 && lk === 0) throw new OpInputError(op, `k and v have 0 tokens; softmax over no keys is undefined`);
  if (opts.causal && lq !== lk) throw new OpInputError(op, `a causal mask needs self-attention (Lq = Lk), got Lq ${lq}, Lk ${lk}`);
  const kernel = await gpu.kernel(attentionKernel, { dtype, headDim, causal: !!opts.causal });
  const y = gpu.empty(q.shape, dtype, op);
  if (lq === 0 || b === 0) return y;
  gpu.dispatch(kernel, { q, k, v, y }, { lq, lk, heads, scale: 1 / Math.sqrt(headDim) }, [Math.ceil(lq / ATTENTION_Q_TILE), b * heads, channelChunks(headDim)]);
  return y;
}

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import { hasCpuSubgroupKernels, SMALL_CPU_FLOPS } from "./matmul-kernel.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectRank, floatDType, sameDType, shapeStr, type FloatDType } from "./common.ts";

/** Query rows per workgroup (Q_TILE in attention.wgsl). */
const ATTENTION_Q_TILE = 64;
/** Keys per K/V tile (attention.wgsl KV_TILE). */
const ATTENTION_KV_TILE = 32;
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

interface AttentionFlashKey extends AttentionKey {
  /** The query tile in workgroup memory (Q_SHARED), where the adapter's limit holds it. */
  qShared: boolean;
}

/** Channel vec4s per thread (≤ 2: 64-channel chunks), the chunk's channels split over CHANNEL_THREADS. */
export function channelVec4s(headDim: number): number {
  return Math.min(2, Math.ceil(headDim / (4 * CHANNEL_THREADS)));
}

/** Output-channel chunks per head (workgroups along z). */
export function channelChunks(headDim: number): number {
  return Math.ceil(headDim / (4 * CHANNEL_THREADS * channelVec4s(headDim)));
}

/** Rows of attention.wgsl's K/V tile (KT_ROWS): the head's channels for K, the padded chunk for V. */
const kvTileRows = (headDim: number): number => Math.max(headDim, channelVec4s(headDim) * 4 * CHANNEL_THREADS);

/** Workgroup bytes of attention.wgsl: the K/V tile, the score tile, the row statistics, and the query tile if shared. */
export function attentionWorkgroupBytes(headDim: number, qShared: boolean): number {
  return 4 * (kvTileRows(headDim) * ATTENTION_KV_TILE + ATTENTION_KV_TILE * ATTENTION_Q_TILE + 3 * ATTENTION_Q_TILE + (qShared ? headDim * ATTENTION_Q_TILE : 0));
}

export const attentionKernel = defineKernel<AttentionFlashKey>({
  name: "attention",
  file: "attention.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    HEAD_DIM: `${k.headDim}u`,
    CH_VEC4: `${channelVec4s(k.headDim)}u`,
    KT_ROWS: `${kvTileRows(k.headDim)}u`,
    CAUSAL: !!k.causal,
    Q_SHARED: k.qShared,
  }),
  label: (k) => `attention_flash${k.qShared ? "_qs" : ""}_d${k.headDim}${k.causal ? "_causal" : ""}_${k.dtype}`,
});

/**
 * Largest head size of attention_rows.wgsl (a thread keeps ROWS × d of q and of its output): every head of SD's
 * UNets (40/64/80/160). Measured on lavapipe against the tiled kernel: d80 6.2× (2 rows, 1024² tokens), d160 2.0×
 * (256² tokens; its 20-step channel loops stay loops, so its arrays are indexed at run time); SwiftShader, 8 rows,
 * 2.9–5.7× (kernels-bench/RESULTS.md).
 */
export const ATTENTION_ROWS_MAX_HEAD_DIM = 160;
const ATTENTION_ROWS_WG = 64;

interface AttentionRowsKey extends AttentionKey {
  /** Query rows per thread. */
  rows: number;
  /** K/V values read once per 8-lane subgroup and broadcast (lavapipe). */
  sgShare: boolean;
}

export const attentionRowsKernel = defineKernel<AttentionRowsKey>({
  name: "attention_rows",
  file: "attention_rows.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), HEAD_DIM: `${k.headDim}u`, ROWS: `${k.rows}u`, WG_SIZE: `${ATTENTION_ROWS_WG}u`, CAUSAL: !!k.causal, SG_SHARE: k.sgShare }),
  label: (k) => `attention_rows${k.rows}${k.sgShare ? "_sg" : ""}_d${k.headDim}${k.causal ? "_causal" : ""}_${k.dtype}`,
});

/** Which kernel runs: "auto" = the barrier-free rows kernel on CPU adapters where the head fits, else the tiled one. */
export type AttentionKernel = "auto" | "tiled" | "rows";

export interface AttentionOptions {
  /** Causal mask: query i sees keys j ≤ i (self-attention only). */
  causal?: boolean;
  kernel?: AttentionKernel;
  /**
   * Query rows per thread of the rows kernel: with subgroup sharing (lavapipe) 2, or 1 under SMALL_CPU_FLOPS; else 8
   * (SwiftShader).
   */
  rows?: number;
  /** Rows kernel: share K/V reads over 8-lane subgroups (default where the adapter has them). */
  sgShare?: boolean;
}

/** Whether attention_rows.wgsl takes this head size. */
export const attentionRowsFits = (headDim: number) => headDim % 8 === 0 && headDim <= ATTENTION_ROWS_MAX_HEAD_DIM;

/**
 * Multi-head scaled dot-product attention (no mask): q [B, Lq, H·d], k/v [B, Lk, H·d] →
 * [B, Lq, H·d], scale 1/√d. Self- and cross-attention, any Lq/Lk; memory O(B·L·H·d).
 * `causal` masks keys j > query i (self-attention only).
 */
export async function attention(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, heads: number, opts: AttentionOptions = {}): Promise<Tensor> {
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
  const choice = opts.kernel ?? "auto";
  const rowsFits = attentionRowsFits(headDim);
  if (choice === "rows" && !rowsFits) throw new OpInputError(op, `the rows attention kernel needs a head dim that is a multiple of 8 and at most ${ATTENTION_ROWS_MAX_HEAD_DIM}, got ${headDim}`);
  const useRows = choice === "rows" || (choice === "auto" && gpu.ctx.caps.cpu && rowsFits);
  const params = { lq, lk, heads, scale: 1 / Math.sqrt(headDim) };
  const causal = !!opts.causal;
  if (useRows) {
    const sgShare = opts.sgShare ?? hasCpuSubgroupKernels(gpu);
    // Measured (kernels-bench/attention-kernels.ts): lavapipe 2 rows 3.4–5.8× the tiled kernel (4 spill); SwiftShader
    // 6–12 rows about level at 2–3×. Small problems (under SMALL_CPU_FLOPS: the toy's, 0.2–1.5 MFLOP) take 1 row on
    // lavapipe: it compiles in under half the time at its first dispatch (d64 1.7 s against 3.9 s) and runs faster
    // there (64 tokens d64 0.36 against 0.58 ms), while from 1024² tokens 2 rows are 1.1–2× faster.
    const flops = 4 * b * heads * lq * lk * headDim;
    const rows = opts.rows ?? (sgShare ? (flops < SMALL_CPU_FLOPS ? 1 : 2) : 8);
    if (!Number.isInteger(rows) || rows < 1 || rows > 16) throw new OpInputError(op, `rows must be an integer from 1 to 16, got ${rows}`);
    if (sgShare && !hasCpuSubgroupKernels(gpu)) throw new OpInputError(op, `sgShare needs 8-lane subgroups on a CPU adapter; ${gpu.ctx.describe()} has none`);
    const kernel = await gpu.kernel(attentionRowsKernel, { dtype, headDim, causal, rows, sgShare });
    const y = gpu.empty(q.shape, dtype, op);
    if (lq === 0 || b === 0) return y;
    gpu.dispatch(kernel, { q, k, v, y }, params, [Math.ceil(lq / rows / ATTENTION_ROWS_WG), b * heads, 1]);
    return y;
  }
  const qShared = attentionWorkgroupBytes(headDim, true) <= gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
  const kernel = await gpu.kernel(attentionKernel, { dtype, headDim, causal, qShared });
  const y = gpu.empty(q.shape, dtype, op);
  if (lq === 0 || b === 0) return y;
  gpu.dispatch(kernel, { q, k, v, y }, params, [Math.ceil(lq / ATTENTION_Q_TILE), b * heads, channelChunks(headDim)]);
  return y;
}

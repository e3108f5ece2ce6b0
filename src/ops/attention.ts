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

/**
 * Where attention.wgsl's phase 1 reads the queries: "shared" = staged once in workgroup memory of their own
 * (Q_SHARED), "restaged" = staged again for every K/V tile in the score tile's memory (Q_RESTAGED: no extra memory
 * past the score tile at d ≥ 32), "storage" = 4 scalar loads per thread and channel from storage.
 */
export type AttentionQueryTile = "shared" | "restaged" | "storage";
export const ATTENTION_QUERY_TILES: readonly AttentionQueryTile[] = ["shared", "restaged", "storage"];

interface AttentionFlashKey extends AttentionKey {
  queries: AttentionQueryTile;
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

/** Rows of the score tile (QP_ROWS): its keys, or with the queries restaged in it the larger of keys and channels. */
const scoreTileRows = (headDim: number, queries: AttentionQueryTile): number => (queries === "restaged" ? Math.max(headDim, ATTENTION_KV_TILE) : ATTENTION_KV_TILE);

/** Workgroup bytes of attention.wgsl: the K/V tile, the score tile, the row statistics, and the query tile if shared. */
export function attentionWorkgroupBytes(headDim: number, queries: AttentionQueryTile): number {
  const queryTile = queries === "shared" ? headDim * ATTENTION_Q_TILE : 0;
  return 4 * (kvTileRows(headDim) * ATTENTION_KV_TILE + scoreTileRows(headDim, queries) * ATTENTION_Q_TILE + 3 * ATTENTION_Q_TILE + queryTile);
}

/**
 * The first of "shared", "restaged", "storage" whose workgroup memory fits `limit` (maxComputeWorkgroupStorageSize).
 * At d64: 32.75 KiB, 24.75 KiB, 16.75 KiB, so an H200 (48 KiB) shares the queries and a browser's usual 32 KiB
 * restages them. H200, 4096² tokens d64: storage 7.5 ms, shared 4.0 ms; restaged not yet measured on a GPU.
 */
export function attentionQueryTileFor(headDim: number, limit: number): AttentionQueryTile {
  return ATTENTION_QUERY_TILES.find((m) => attentionWorkgroupBytes(headDim, m) <= limit) ?? "storage";
}

export const attentionKernel = defineKernel<AttentionFlashKey>({
  name: "attention",
  file: "attention.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    HEAD_DIM: `${k.headDim}u`,
    CH_VEC4: `${channelVec4s(k.headDim)}u`,
    KT_ROWS: `${kvTileRows(k.headDim)}u`,
    QP_ROWS: `${scoreTileRows(k.headDim, k.queries)}u`,
    CAUSAL: !!k.causal,
    Q_SHARED: k.queries === "shared",
    Q_RESTAGED: k.queries === "restaged",
    Q_IN_WORKGROUP: k.queries !== "storage",
  }),
  label: (k) => `attention_flash${{ shared: "_qs", restaged: "_qr", storage: "" }[k.queries]}_d${k.headDim}${k.causal ? "_causal" : ""}_${k.dtype}`,
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
  /** Tiled kernel: where it reads the queries (tests, kernels-bench). Default: attentionQueryTileFor the adapter's limit. */
  queries?: AttentionQueryTile;
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
  if (headDim < 1 || headDim > ATTENTION_MAX_HEAD_DIM) throw new OpInputError(op, `head dim ${headDim} is not supported (1 to ${ATTENTION_MAX_HEAD_DIM})`);
  if (lq > 0 && lk === 0) throw new OpInputError(op, `k and v have 0 tokens; softmax over no keys is undefined`);
  if (opts.causal && lq !== lk) throw new OpInputError(op, `a causal mask needs self-attention (Lq = Lk), got Lq ${lq}, Lk ${lk}`);
  const choice = opts.kernel ?? "auto";
  const rowsFits = attentionRowsFits(headDim);
  if (choice === "rows" && !rowsFits) throw new OpInputError(op, `the rows attention kernel needs a head dim that is a multiple of 8 and at most ${ATTENTION_ROWS_MAX_HEAD_DIM}, got ${headDim}`);
  const limit = gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
  // The rows kernel uses no workgroup memory: it also serves adapters whose limit is under even the tiled kernel's
  // smallest form (WebGPU's default 16 KiB: d40 and d64 need 16.75 KiB).
  const tiledFits = attentionWorkgroupBytes(headDim, attentionQueryTileFor(headDim, limit)) <= limit;
  const useRows = choice === "rows" || (choice === "auto" && (gpu.ctx.caps.cpu || !tiledFits) && rowsFits);
  const params = { lq, lk, heads, scale: 1 / Math.sqrt(headDim) };
  const causal = !!opts.causal;
  if (useRows) {
    const sgShare = opts.sgShare ?? hasCpuSubgroupKernels(gpu);
    // Measured (kernels-bench/attention-kernels.ts): lavapipe 2 rows 3.4–5.8× the tiled kernel (4 spill); SwiftShader
    // 6–12 rows about level at 2–3×. Small problems (under SMALL_CPU_FLOPS: the toy's, 0.2–1.5 MFLOP) take 1 row on
    // lavapipe: it compiles in under half the time at its first dispatch (d64 1.7 s against 3.9 s) and runs faster
    // there (64 tokens d64 0.36 against 0.58 ms), while from 1024² tokens 2 rows are 1.1–2× faster.
    const flops = 4 * b * heads * lq * lk * headDim;
    // GPUs reach it only when the tiled kernel does not fit: 1 row, so a thread's q and output (2·d floats) stay in
    // registers and Lq threads share the work (unmeasured; a fallback).
    const rows = opts.rows ?? (sgShare ? (flops < SMALL_CPU_FLOPS ? 1 : 2) : gpu.ctx.caps.cpu ? 8 : 1);
    if (!Number.isInteger(rows) || rows < 1 || rows > 16) throw new OpInputError(op, `rows must be an integer from 1 to 16, got ${rows}`);
    if (sgShare && !hasCpuSubgroupKernels(gpu)) throw new OpInputError(op, `sgShare needs 8-lane subgroups on a CPU adapter; ${gpu.ctx.describe()} has none`);
    const kernel = await gpu.kernel(attentionRowsKernel, { dtype, headDim, causal, rows, sgShare });
    const y = gpu.empty(q.shape, dtype, op);
    if (lq === 0 || b === 0) return y;
    gpu.dispatch(kernel, { q, k, v, y }, params, [Math.ceil(lq / rows / ATTENTION_ROWS_WG), b * heads, 1]);
    return y;
  }
  const queries = opts.queries ?? attentionQueryTileFor(headDim, limit);
  if (!ATTENTION_QUERY_TILES.includes(queries)) throw new OpInputError(op, `queries must be one of ${ATTENTION_QUERY_TILES.join(", ")}, got ${JSON.stringify(queries)}`);
  if (attentionWorkgroupBytes(headDim, queries) > limit) {
    throw new OpInputError(op, `the tiled kernel with queries "${queries}" needs ${attentionWorkgroupBytes(headDim, queries)} bytes of workgroup memory at head dim ${headDim}; this adapter allows ${limit}`);
  }
  const kernel = await gpu.kernel(attentionKernel, { dtype, headDim, causal, queries });
  const y = gpu.empty(q.shape, dtype, op);
  if (lq === 0 || b === 0) return y;
  gpu.dispatch(kernel, { q, k, v, y }, params, [Math.ceil(lq / ATTENTION_Q_TILE), b * heads, channelChunks(headDim)]);
  return y;
}

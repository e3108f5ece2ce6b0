import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { floatDType, sameDType, shapeStr, type FloatDType } from "./common.ts";
import { runMatmul, type MatmulVariant } from "./matmul-kernel.ts";

export interface MatmulOptions {
  /** Force a kernel variant (tests and benchmarks); default picks gemv for one row, else the tuned tiles. */
  variant?: MatmulVariant;
  /**
   * b is stored transposed, [..., N, K] (a @ bᵀ, as attention's q·kᵀ): no transpose pass, and the [N, K] layout is
   * the one the CPU-adapter kernels read (matmul_cpu.wgsl), which an [K, N] b never takes.
   */
  transposeB?: boolean;
  /** K slices of a tile variant (tests and benchmarks; see MatmulRun.splitK). */
  splitK?: number;
}

/**
 * Batched matmul y = a @ b: a [..., M, K], b [..., K, N] → [..., M, N] (with `transposeB`, b [..., N, K] and
 * y = a @ bᵀ). The batch dims must be equal, or one side may have none (or all 1) and is broadcast over the
 * other's batch.
 */
export async function matmul(gpu: Gpu, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Promise<Tensor> {
  const op = "matmul";
  floatDType(gpu, op, "a", a);
  const dtype = sameDType(op, { a, b }) as FloatDType;
  if (a.rank < 2 || b.rank < 2) throw new OpInputError(op, `a and b need rank ≥ 2, got a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}`);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const t = !!opts.transposeB;
  const [kb, n] = (t ? b.shape.slice(-2).reverse() : b.shape.slice(-2)) as [number, number];
  if (k !== kb) {
    const form = t ? "a [..., M, K] @ b [..., N, K]ᵀ" : "a [..., M, K] @ b [..., K, N]";
    throw new OpInputError(op, `a ${shapeStr(a.shape)} has K = ${k} but b ${shapeStr(b.shape)} has K = ${kb} (${form})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const aCount = aBatch.reduce((p, d) => p * d, 1);
  const bCount = bBatch.reduce((p, d) => p * d, 1);
  const sameBatch = aBatch.length === bBatch.length && aBatch.every((d, i) => d === bBatch[i]);
  if (!sameBatch && aCount !== 1 && bCount !== 1) {
    throw new OpInputError(op, `batch dims of a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} differ; they must match or one side must have no batch`);
  }
  // The batched side gives the output's batch dims: a side with count 1 broadcasts, one with count 0 is batched too
  // (an empty batch, so an empty result).
  const batchShape = sameBatch || aCount !== 1 ? aBatch : bCount !== 1 ? bBatch : aBatch.length >= bBatch.length ? aBatch : bBatch;
  const batch = batchShape.reduce((p, d) => p * d, 1);
  return runMatmul(gpu, {
    op,
    a,
    b,
    outShape: [...batchShape, m, n],
    m,
    n,
    k,
    batch,
    aBatchStride: aCount === 1 ? 0 : m * k,
    bBatchStride: bCount === 1 ? 0 : k * n,
    key: { b: t ? "float-nk" : "float-kn", zeroPoint: false, scaleInEpilogue: false, act: "none" },
    dtype,
    variant: opts.variant,
    splitK: opts.splitK,
  });
}

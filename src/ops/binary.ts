import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, sameDType, shapeStr, type FloatDType } from "./common.ts";

export type BinaryOp = "add" | "mul";

interface BinaryKey {
  op: BinaryOp;
  dtype: FloatDType;
}

export const binaryKernel = defineKernel<BinaryKey>({
  name: "binary",
  file: "binary.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u`, [`OP_${k.op.toUpperCase()}`]: true }),
  label: (k) => `binary_${k.op}_${k.dtype}`,
});

const MAX_RANK = 4;

/** Numpy broadcasting of two shapes (right-aligned); throws naming both shapes when they clash. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new OpInputError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Row-major strides of `shape` seen from the rank-4 `out` shape, with 0 on broadcast dims. */
function broadcastStrides(shape: readonly number[], out4: number[]): number[] {
  const padded = [...Array(MAX_RANK - shape.length).fill(1), ...shape];
  const strides = [0, 0, 0, 0];
  let s = 1;
  for (let i = MAX_RANK - 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 && out4[i] !== 1 ? 0 : s;
    s *= padded[i]!;
  }
  return strides;
}

/** y = a (op) b with broadcasting (rank ≤ 4). */
export async function binary(gpu: Gpu, op: BinaryOp, a: Tensor, b: Tensor): Promise<Tensor> {
  floatDType(gpu, op, "a", a);
  const dtype = sameDType(op, { a, b }) as FloatDType;
  const out = broadcastShapes(op, a.shape, b.shape);
  if (out.length > MAX_RANK) throw new OpInputError(op, `rank ${out.length} > ${MAX_RANK} is not supported (shape ${shapeStr(out)})`);
  const out4 = [...Array(MAX_RANK - out.length).fill(1), ...out];
  const k = await gpu.kernel(binaryKernel, { op, dtype });
  const y = gpu.empty(out, dtype, op);
  gpu.dispatch(
    k,
    { a, b, y },
    { count: y.numel, out_shape: out4, a_strides: broadcastStrides(a.shape, out4), b_strides: broadcastStrides(b.shape, out4) },
    gridFor(gpu, y.numel),
  );
  return y;
}

export const add = (gpu: Gpu, a: Tensor, b: Tensor) => binary(gpu, "add", a, b);
export const mul = (gpu: Gpu, a: Tensor, b: Tensor) => binary(gpu, "mul", a, b);

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, type FloatDType } from "./common.ts";

export const gatherRowsKernel = defineKernel<{ dtype: FloatDType }>({
  name: "gather_rows",
  file: "gather_rows.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `gather_rows_${k.dtype}`,
});

/**
 * Rows of `table` [V, D] picked by `indices` (host numbers, checked to be in [0, V)) → [N, D]:
 * embedding lookup without a one-hot matmul. A table larger than one storage binding (made `unbound`) is read
 * by buffer copies instead of the kernel.
 */
export async function gatherRows(gpu: Gpu, table: Tensor, indices: readonly number[]): Promise<Tensor> {
  const op = "gatherRows";
  const dtype = floatDType(gpu, op, "table", table);
  expectRank(op, "table", table, 2);
  const [rows, width] = table.shape as [number, number];
  const bad = indices.findIndex((i) => !Number.isInteger(i) || i < 0 || i >= rows);
  if (bad >= 0) throw new OpInputError(op, `index ${indices[bad]} at position ${bad} is outside the table's ${rows} rows`);
  if (table.byteLength > gpu.ctx.caps.limits.maxStorageBufferBindingSize) {
    // A table over one binding (CLIP's f32 token table on lavapipe): one buffer copy per row, nothing bound.
    const y = gpu.empty([indices.length, width], dtype, "gather");
    gpu.copyRegions(table, y, indices.map((r, n) => ({ src: r * width, dst: n * width, count: width })));
    return y;
  }
  const idx = gpu.upload(Int32Array.from(indices), [indices.length], "i32", "gather_index");
  const k = await gpu.kernel(gatherRowsKernel, { dtype });
  const y = gpu.empty([indices.length, width], dtype, "gather");
  gpu.dispatch(k, { table, index: idx, y }, { rows: indices.length, width, table_rows: rows }, gridFor(gpu, indices.length * width));
  idx.dispose();
  return y;
}

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { floatDType, gridFor, type FloatDType } from "./common.ts";

/** One workgroup per row; 128 threads keep short rows cheap and long rows (4096) parallel enough. */
const SOFTMAX_WG = 128;

export const softmaxKernel = defineKernel<{ dtype: FloatDType }>({
  name: "softmax",
  file: "softmax.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${SOFTMAX_WG}u` }),
  label: (k) => `softmax_lastdim_${k.dtype}`,
});

/** Softmax over the last dimension, any length. */
export async function softmax(gpu: Gpu, x: Tensor): Promise<Tensor> {
  const dtype = floatDType(gpu, "softmax", "x", x);
  if (x.rank < 1) throw new OpInputError("softmax", "x must have at least one dim");
  const cols = x.shape[x.rank - 1]!;
  const rows = x.numel / Math.max(cols, 1);
  const k = await gpu.kernel(softmaxKernel, { dtype });
  const y = gpu.empty(x.shape, dtype, "softmax");
  if (cols === 0) return y;
  gpu.dispatch(k, { x, y }, { rows, cols }, gridFor(gpu, rows, 1));
  return y;
}

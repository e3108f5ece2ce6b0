import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, type FloatDType } from "./common.ts";

export const upsampleNearest2xKernel = defineKernel<{ dtype: FloatDType }>({
  name: "upsample_nearest2x",
  file: "upsample_nearest2x.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `upsample_nearest2x_${k.dtype}`,
});

/** Nearest 2x upsampling of an NCHW tensor → [N, C, 2H, 2W]. */
export async function upsampleNearest2x(gpu: Gpu, x: Tensor): Promise<Tensor> {
  const dtype = floatDType(gpu, "upsampleNearest2x", "x", x);
  expectRank("upsampleNearest2x", "x (NCHW)", x, 4);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const k = await gpu.kernel(upsampleNearest2xKernel, { dtype });
  const y = gpu.empty([n, c, 2 * h, 2 * w], dtype, "upsample");
  gpu.dispatch(k, { x, y }, { count: y.numel, h, w }, gridFor(gpu, y.numel));
  return y;
}

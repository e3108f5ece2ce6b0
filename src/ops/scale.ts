import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, type FloatDType } from "./common.ts";

export const scaleKernel = defineKernel<{ dtype: FloatDType }>({
  name: "scale",
  file: "scale.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `scale_${k.dtype}`,
});

/** y = x·alpha + beta (one fused multiply-add in f32). */
export async function scale(gpu: Gpu, x: Tensor, alpha: number, beta = 0): Promise<Tensor> {
  const dtype = floatDType(gpu, "scale", "x", x);
  const k = await gpu.kernel(scaleKernel, { dtype });
  const y = gpu.empty(x.shape, dtype, "scale");
  gpu.dispatch(k, { x, y }, { count: x.numel, alpha, beta }, gridFor(gpu, x.numel));
  return y;
}

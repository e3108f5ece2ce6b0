import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, type FloatDType } from "./common.ts";
import { OpInputError } from "../gpu/errors.ts";

export const imageToRgba8Kernel = defineKernel<{ dtype: FloatDType }>({
  name: "image_to_rgba8",
  file: "image_to_rgba8.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `image_to_rgba8_${k.dtype}`,
});

/** VAE output [N, 3, H, W] → RGBA8 pixels [N, H, W] packed one per u32 (diffusers' rounding). */
export async function imageToRgba8(gpu: Gpu, x: Tensor): Promise<Tensor> {
  const dtype = floatDType(gpu, "imageToRgba8", "x", x);
  expectRank("imageToRgba8", "x (NCHW)", x, 4);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (c !== 3) throw new OpInputError("imageToRgba8", `x must have 3 channels, got ${c}`);
  const k = await gpu.kernel(imageToRgba8Kernel, { dtype });
  const y = gpu.empty([n, h, w], "u32", "rgba8");
  gpu.dispatch(k, { x, rgba: y }, { pixels: h * w, batch: n }, gridFor(gpu, n * h * w));
  return y;
}

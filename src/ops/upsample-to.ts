import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, type FloatDType } from "./common.ts";

export const upsampleNearestToKernel = defineKernel<{ dtype: FloatDType }>({
  name: "upsample_nearest_to",
  file: "upsample_nearest_to.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `upsample_nearest_to_${k.dtype}`,
});

/** Host mirror of the kernel's source index (PyTorch `interpolate(mode="nearest")`): floor(dst·in/out). */
export function nearestSourceIndex(dst: number, inSize: number, outSize: number): number {
  return Math.floor((dst * inSize) / outSize);
}

/**
 * Nearest resize of an NCHW tensor to [N, C, outH, outW] (PyTorch `F.interpolate(size=…, mode="nearest")`).
 * diffusers' UNet uses it when the latent is not a multiple of 2^(up blocks), e.g. 1×2 → 2×3.
 */
export async function upsampleNearestTo(gpu: Gpu, x: Tensor, outH: number, outW: number): Promise<Tensor> {
  const op = "upsampleNearestTo";
  const dtype = floatDType(gpu, op, "x", x);
  expectRank(op, "x (NCHW)", x, 4);
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new OpInputError(op, `output size must be positive integers, got ${outH}×${outW}`);
  }
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const k = await gpu.kernel(upsampleNearestToKernel, { dtype });
  const y = gpu.empty([n, c, outH, outW], dtype, "upsample_to");
  if (y.numel === 0) return y;
  gpu.dispatch(k, { x, y }, { count: y.numel, h, w, oh: outH, ow: outW }, gridFor(gpu, y.numel));
  return y;
}

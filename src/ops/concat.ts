import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, sameDType, shapeStr, type FloatDType } from "./common.ts";

export const concatChannelsKernel = defineKernel<{ dtype: FloatDType }>({
  name: "concat_channels",
  file: "concat_channels.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `concat_channels_${k.dtype}`,
});

/** Concatenates two NCHW tensors along C. */
export async function concatChannels(gpu: Gpu, a: Tensor, b: Tensor): Promise<Tensor> {
  const op = "concatChannels";
  floatDType(gpu, op, "a", a);
  const dtype = sameDType(op, { a, b }) as FloatDType;
  expectRank(op, "a (NCHW)", a, 4);
  expectRank(op, "b (NCHW)", b, 4);
  const [n, ca, h, w] = a.shape as [number, number, number, number];
  const [nb, cb, hb, wb] = b.shape as [number, number, number, number];
  if (n !== nb || h !== hb || w !== wb) {
    throw new OpInputError(op, `a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} must agree in N, H, W`);
  }
  const k = await gpu.kernel(concatChannelsKernel, { dtype });
  const y = gpu.empty([n, ca + cb, h, w], dtype, "concat");
  gpu.dispatch(k, { a, b, y }, { count: y.numel, ca, cb, hw: h * w }, gridFor(gpu, y.numel));
  return y;
}

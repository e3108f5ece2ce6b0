import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, expectRank, floatDType, gridFor, shapeStr, type FloatDType } from "./common.ts";

export const transposeBatchedKernel = defineKernel<{ dtype: FloatDType }>({
  name: "transpose_batched",
  file: "transpose_batched.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `transpose_batched_${k.dtype}`,
});

/** y[b, c, r] = x[b, r, c] for x viewed as [batch, rows, cols]; the output gets `outShape`. */
async function transposeBatched(gpu: Gpu, op: string, x: Tensor, batch: number, rows: number, cols: number, outShape: number[]): Promise<Tensor> {
  const dtype = floatDType(gpu, op, "x", x);
  const k = await gpu.kernel(transposeBatchedKernel, { dtype });
  const y = gpu.empty(outShape, dtype, op);
  if (y.numel === 0) return y;
  gpu.dispatch(k, { x, y }, { count: batch * rows * cols, rows, cols }, gridFor(gpu, y.numel));
  return y;
}

/** NCHW [B, C, H, W] → token rows [B, H·W, C] (diffusers' permute(0, 2, 3, 1).reshape). */
export async function nchwToTokens(gpu: Gpu, x: Tensor): Promise<Tensor> {
  expectRank("nchwToTokens", "x (NCHW)", x, 4);
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return transposeBatched(gpu, "nchwToTokens", x, b, c, h * w, [b, h * w, c]);
}

/** Token rows [B, H·W, C] → NCHW [B, C, H, W] (the inverse of nchwToTokens). */
export async function tokensToNchw(gpu: Gpu, x: Tensor, h: number, w: number): Promise<Tensor> {
  expectRank("tokensToNchw", "x", x, 3);
  const [b, hw, c] = x.shape as [number, number, number];
  if (hw !== h * w) throw new OpInputError("tokensToNchw", `x ${shapeStr(x.shape)} has ${hw} tokens but H×W = ${h}×${w} = ${h * w}`);
  return transposeBatched(gpu, "tokensToNchw", x, b, hw, c, [b, c, h, w]);
}

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, shapeStr, type FloatDType } from "./common.ts";

export const gegluKernel = defineKernel<{ dtype: FloatDType }>({
  name: "geglu",
  file: "geglu.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `geglu_${k.dtype}`,
});

/**
 * diffusers GEGLU after its projection: h [..., 2·dout] → h[..., :dout] · gelu_erf(h[..., dout:]),
 * shape [..., dout]. (The projection is a linear layer run before this op.)
 */
export async function geglu(gpu: Gpu, h: Tensor): Promise<Tensor> {
  const dtype = floatDType(gpu, "geglu", "h", h);
  if (h.rank < 1) throw new OpInputError("geglu", "h must have at least one dim");
  const last = h.shape[h.rank - 1]!;
  if (last % 2 !== 0) throw new OpInputError("geglu", `last dim of h must be even (2·dout), got shape ${shapeStr(h.shape)}`);
  const dout = last / 2;
  const outShape = [...h.shape.slice(0, -1), dout];
  const k = await gpu.kernel(gegluKernel, { dtype });
  const y = gpu.empty(outShape, dtype, "geglu");
  const count = y.numel;
  if (count === 0) return y;
  gpu.dispatch(k, { h, y }, { count, dout }, gridFor(gpu, count));
  return y;
}

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, type FloatDType } from "./common.ts";

interface CastKey {
  from: FloatDType;
  to: FloatDType;
}

export const castKernel = defineKernel<CastKey>({
  name: "cast",
  file: "cast.wgsl",
  // No dtypeDefines: the kernel has two element types and always enables f16 itself.
  defines: (k) => ({ SRC_ELEM: k.from, DST_ELEM: k.to, WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `cast_${k.from}_to_${k.to}`,
});

/**
 * x as a new tensor of float type `to` (f32 → f16 rounds to nearest even; f16 → f32 is exact). Used at
 * model boundaries, e.g. f32 latents into an f16 UNet and its f16 noise prediction back to the f32
 * scheduler. Needs shader-f16 (the kernel enables it), even for a same-type copy.
 */
export async function cast(gpu: Gpu, x: Tensor, to: FloatDType): Promise<Tensor> {
  const from = floatDType(gpu, "cast", "x", x);
  if (to !== "f32" && to !== "f16") throw new OpInputError("cast", `target dtype must be f32 or f16, got ${to as string}`);
  if (!gpu.ctx.caps.f16) throw new OpInputError("cast", `casting ${from} to ${to} needs the WebGPU feature shader-f16, which this adapter does not have`);
  const k = await gpu.kernel(castKernel, { from, to });
  const y = gpu.empty(x.shape, to, "cast");
  if (x.numel > 0) gpu.dispatch(k, { x, y }, { count: x.numel }, gridFor(gpu, x.numel));
  return y;
}

/** `x` itself when it already has type `to` (`owned: false`), else a cast copy the caller must dispose. */
export async function asDType(gpu: Gpu, x: Tensor, to: FloatDType): Promise<{ t: Tensor; owned: boolean }> {
  return x.dtype === to ? { t: x, owned: false } : { t: await cast(gpu, x, to), owned: true };
}

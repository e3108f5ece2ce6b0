import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, type FloatDType } from "./common.ts";

export type Activation = "silu" | "gelu_erf" | "gelu_tanh" | "quick_gelu" | "sigmoid" | "relu" | "tanh";
export const ACTIVATIONS: readonly Activation[] = ["silu", "gelu_erf", "gelu_tanh", "quick_gelu", "sigmoid", "relu", "tanh"];
/** Run-time ids of apply_activation_id (shaders/include/activation_fn.wgsl, ACT_RUNTIME). */
export const ACTIVATION_IDS: Readonly<Record<Activation | "none", number>> = {
  none: 0, silu: 1, gelu_erf: 2, gelu_tanh: 3, quick_gelu: 4, sigmoid: 5, relu: 6, tanh: 7,
};

interface ActivationKey {
  act: Activation;
  dtype: FloatDType;
}

export const activationKernel = defineKernel<ActivationKey>({
  name: "activation",
  file: "activation.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u`, [`ACT_${k.act.toUpperCase()}`]: true }),
  label: (k) => `activation_${k.act}_${k.dtype}`,
});

/** y = act(x) elementwise, same shape and dtype. */
export async function activation(gpu: Gpu, act: Activation, x: Tensor): Promise<Tensor> {
  const dtype = floatDType(gpu, act, "x", x);
  const k = await gpu.kernel(activationKernel, { act, dtype });
  const y = gpu.empty(x.shape, dtype, act);
  gpu.dispatch(k, { x, y }, { count: x.numel }, gridFor(gpu, x.numel));
  return y;
}

export const silu = (gpu: Gpu, x: Tensor) => activation(gpu, "silu", x);
export const geluErf = (gpu: Gpu, x: Tensor) => activation(gpu, "gelu_erf", x);
export const geluTanh = (gpu: Gpu, x: Tensor) => activation(gpu, "gelu_tanh", x);
export const quickGelu = (gpu: Gpu, x: Tensor) => activation(gpu, "quick_gelu", x);
export const sigmoid = (gpu: Gpu, x: Tensor) => activation(gpu, "sigmoid", x);
export const relu = (gpu: Gpu, x: Tensor) => activation(gpu, "relu", x);
export const tanh = (gpu: Gpu, x: Tensor) => activation(gpu, "tanh", x);

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, floatDType, gridFor, shapeStr, type FloatDType } from "./common.ts";

/** The five per-step scalars of src/scheduler's StepCoefficients (Q-Sched folded in). */
export interface FusedStepWeights {
  prevSample: { sample: number; modelOutput: number; noise: number };
  denoised: { sample: number; modelOutput: number } | null;
}

export const schedulerStepKernel = defineKernel<{ dtype: FloatDType }>({
  name: "scheduler_step",
  file: "scheduler_step.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `scheduler_step_${k.dtype}`,
});

export const scaleModelInputKernel = defineKernel<{ dtype: FloatDType }>({
  name: "scale_model_input",
  file: "scale_model_input.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `scale_model_input_${k.dtype}`,
});

/**
 * One scheduler step on the GPU: returns {prevSample, denoised}. With `guidance` set, `unetOut`
 * holds [uncond; text] (2× the batch of `sample`) and is combined as diffusers does before the step.
 * `noise` may be omitted when the step's noise weight is 0.
 */
export async function schedulerStep(
  gpu: Gpu,
  sample: Tensor,
  unetOut: Tensor,
  w: FusedStepWeights,
  opts: { guidance?: number; noise?: Tensor } = {},
): Promise<{ prevSample: Tensor; denoised: Tensor }> {
  const op = "schedulerStep";
  const dtype = floatDType(gpu, op, "sample", sample);
  const cfg = opts.guidance !== undefined;
  const want = cfg ? 2 * sample.numel : sample.numel;
  if (unetOut.numel !== want || unetOut.dtype !== dtype) {
    throw new OpInputError(op, `unetOut must have ${want} ${dtype} elements (${cfg ? "2× the batch with CFG" : "the latent shape"} ${shapeStr(sample.shape)}), got ${unetOut}`);
  }
  if (w.prevSample.noise !== 0 && !opts.noise) throw new OpInputError(op, `this step's noise weight is ${w.prevSample.noise} but no noise tensor was given`);
  if (opts.noise && opts.noise.numel !== sample.numel) throw new OpInputError(op, `noise ${opts.noise} must match sample ${shapeStr(sample.shape)}`);
  const k = await gpu.kernel(schedulerStepKernel, { dtype });
  const prevSample = gpu.empty(sample.shape, dtype, "prev_sample");
  const denoised = gpu.empty(sample.shape, dtype, "denoised");
  const d = w.denoised ?? { sample: 0, modelOutput: 0 };
  gpu.dispatch(
    k,
    { sample, unet_out: unetOut, noise: opts.noise ?? sample, prev_sample: prevSample, denoised },
    {
      count: sample.numel,
      cfg: cfg ? 1 : 0,
      guidance: opts.guidance ?? 0,
      a: w.prevSample.sample,
      b: w.prevSample.modelOutput,
      c: w.prevSample.noise,
      d: d.sample,
      e: d.modelOutput,
    },
    gridFor(gpu, sample.numel),
  );
  return { prevSample, denoised };
}

/** The UNet input: latents / divisor, repeated `copies` times along the batch (2 with CFG). */
export async function scaleModelInput(gpu: Gpu, latents: Tensor, divisor: number, copies = 1): Promise<Tensor> {
  const dtype = floatDType(gpu, "scaleModelInput", "latents", latents);
  const k = await gpu.kernel(scaleModelInputKernel, { dtype });
  const [n, ...rest] = latents.shape as number[];
  const y = gpu.empty([n! * copies, ...rest], dtype, "unet_in");
  gpu.dispatch(k, { x: latents, y }, { count: latents.numel, copies, divisor }, gridFor(gpu, latents.numel * copies));
  return y;
}

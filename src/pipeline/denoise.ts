import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { Unet, UnetInputs } from "../models/unet/unet.ts";
import { schedulerStep, scaleModelInput } from "../ops/scheduler-step.ts";
import type { AnyScheduler } from "../scheduler/factory.ts";
import { randnTensor } from "../scheduler/rng/randn-tensor.ts";
import type { TorchGenerator } from "../scheduler/rng/torch-generator.ts";
import type { GenerateOptions, StepEvent } from "./types.ts";
import { UnetStepPlan } from "./unet-plan.ts";

export interface DenoiseInputs {
  unet: Unet;
  scheduler: AnyScheduler;
  generator: TorchGenerator;
  /** Latent shape [B, C, h, w]. */
  shape: [number, number, number, number];
  /** [B or 2B, 77, C] (2B with CFG: [negative; positive]). */
  context: Tensor;
  /** Classifier-free guidance scale; undefined = no CFG. */
  cfgScale?: number;
  /** Extra UNet conditioning (LCM timestep_cond, SDXL text_embeds/time ids), already batched like `context`. */
  extra: Pick<UnetInputs, "timestepCond" | "textEmbeds" | "timeIds">;
  /** LCM decodes the last step's `denoised`, the others the last `prev_sample`. */
  outputDenoised: boolean;
  /**
   * Record the UNet once and replay it each step (default). Tracing needs the eager path, which
   * reports every module's output; results are the same either way.
   */
  plan?: boolean;
  /** Passed to the scheduler's step (TCD's gamma; the others take none). */
  eta?: number;
  /** Debug: replay the UNet dispatch by dispatch and throw at the first non-finite value, naming module and kernel. */
  checkFinite?: boolean;
  signal?: AbortSignal;
  /** After each step; `denoised` (the step's x0 prediction) is valid only during the call. */
  onStep?: (e: StepEvent, denoised: Tensor) => void | Promise<void>;
  trace?: GenerateOptions["trace"];
}

/**
 * The denoising loop: per step, UNet input (scaled, duplicated for CFG) → UNet → one fused
 * scheduler-step kernel with the step's Q-Sched-folded coefficients. The generator is advanced on
 * the CPU exactly as diffusers does (noise drawn even where a step ignores it), so the same seed
 * gives the same latents. No read-back happens unless tracing.
 */
export async function denoise(gpu: Gpu, d: DenoiseInputs): Promise<{ latents: Tensor; stepMs: number[] }> {
  const { scheduler, shape, trace } = d;
  const count = shape.reduce((a, b) => a * b, 1);
  const init = randnTensor(shape, d.generator);
  await trace?.("latents_init", init);
  const sigma0 = Math.fround(scheduler.initNoiseSigma);
  let latents = gpu.upload(init.map((v) => Math.fround(v * sigma0)), shape, "f32", "latents");
  const coeffs = scheduler.stepCoefficients({ eta: d.eta });
  const copies = d.cfgScale !== undefined ? 2 : 1;
  const stepMs: number[] = [];
  let denoised: Tensor | undefined;
  const usePlan = ((d.plan ?? true) && !trace) || !!d.checkFinite;
  let plan: UnetStepPlan | undefined;
  const fixed = { encoderHiddenStates: d.context, ...d.extra };
  try {
    for (const [i, c] of coeffs.entries()) {
      if (d.signal?.aborted) throw d.signal.reason ?? new DOMException("generation aborted", "AbortError");
      const t0 = performance.now();
      const t = scheduler.timesteps[i]!;
      // What the scheduler's scale_model_input divides by at this step (sqrt(sigma²+1) for Euler, 1 for LCM).
      const unetIn = await scaleModelInput(gpu, latents, scheduler.modelInputDivisor(i), copies);
      let unetOut: Tensor | undefined;
      let noise: Tensor | undefined;
      let out: { prevSample: Tensor; denoised: Tensor };
      try {
        await trace?.(`step${i}.timestep`, new Float32Array([t]));
        await trace?.(`step${i}.unet_in`, unetIn);
        if (!usePlan) unetOut = await d.unet.forward({ ...fixed, sample: unetIn, timestep: t });
        else if (!plan) {
          ({ plan, output: unetOut } = await UnetStepPlan.record(gpu, d.unet, unetIn, t, fixed));
          if (d.checkFinite) await plan.runCheckingFinite();
        } else unetOut = d.checkFinite ? await plan.runCheckingFinite(unetIn, t) : plan.run(unetIn, t);
        unetIn.dispose();
        if (trace) await traceModelOutput(gpu, i, unetOut, latents, count, d.cfgScale, trace);
        if (c.drawsNoise) {
          const drawn = randnTensor(shape, d.generator);
          await trace?.(`step${i}.sched_noise`, drawn);
          if (c.prevSample.noise !== 0) noise = gpu.upload(drawn, shape, "f32", "sched_noise");
        }
        out = await schedulerStep(gpu, latents, unetOut, { prevSample: c.prevSample, denoised: c.denoised }, { guidance: d.cfgScale, noise });
      } finally {
        // The step's own tensors, also when it throws (a plan's output is the plan's, reused by the next run).
        unetIn.dispose();
        if (!plan) unetOut?.dispose();
        noise?.dispose();
      }
      latents.dispose();
      latents = out.prevSample;
      denoised?.dispose();
      denoised = out.denoised;
      await trace?.(`step${i}.denoised`, denoised);
      await trace?.(`step${i}.prev_sample`, latents);
      await gpu.sync();
      stepMs.push(performance.now() - t0);
      await d.onStep?.({ step: i + 1, steps: coeffs.length, timestep: t, elapsedMs: stepMs[i]! }, denoised);
    }
  } catch (e) {
    latents.dispose();
    denoised?.dispose();
    throw e;
  } finally {
    plan?.dispose();
  }
  const result = d.outputDenoised && denoised ? denoised : latents;
  (result === latents ? denoised : latents)?.dispose();
  return { latents: result, stepMs };
}

/** Trace-only: noise_pred (after CFG) and sample_in as diffusers records them, computed on the CPU. */
async function traceModelOutput(
  gpu: Gpu,
  i: number,
  unetOut: Tensor,
  latents: Tensor,
  count: number,
  cfgScale: number | undefined,
  trace: NonNullable<GenerateOptions["trace"]>,
): Promise<void> {
  await trace(`step${i}.unet_out`, unetOut);
  const out = await gpu.read(unetOut);
  if (cfgScale !== undefined) {
    const uncond = out.slice(0, count);
    const text = out.slice(count);
    await trace(`step${i}.noise_pred_uncond`, uncond);
    await trace(`step${i}.noise_pred_text`, text);
    await trace(`step${i}.noise_pred`, uncond.map((u, j) => Math.fround(u + Math.fround(cfgScale * Math.fround(text[j]! - u)))));
  } else {
    await trace(`step${i}.noise_pred`, out);
  }
  await trace(`step${i}.sample_in`, latents);
}

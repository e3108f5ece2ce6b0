import { betaKeys, resolveConfig, type ClassKeySpecs } from "./config.ts";
import { computeNoiseTables, type BetaScheduleConfig } from "./noise-schedule.ts";
import { npLinspace } from "./numpy-compat.ts";
import { SchedulerBase } from "./scheduler-base.ts";
import type { SchedulerClassName } from "./types.ts";

/** The resolved config of LCMScheduler and TCDScheduler (same constructor signature in diffusers). */
export interface ConsistencyConfig extends BetaScheduleConfig {
  original_inference_steps: number;
  clip_sample: boolean;
  clip_sample_range: number;
  set_alpha_to_one: boolean;
  prediction_type: "epsilon" | "sample" | "v_prediction";
  timestep_scaling: number;
}

/**
 * The v0.30.3 constructor keys LCMScheduler and TCDScheduler share (same signature and defaults). TCD's step never
 * reads `thresholding` (LCM's does), so there it is inert.
 */
export function consistencyKeySpecs(cls: string): ClassKeySpecs {
  return {
    ...betaKeys({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" }),
    original_inference_steps: { type: "number", default: 50, integer: true, min: 1 },
    clip_sample: { type: "boolean", default: false },
    clip_sample_range: { type: "number", default: 1.0, min: 0 },
    set_alpha_to_one: { type: "boolean", default: true },
    steps_offset: { type: "inert", default: 0, why: "not read by set_timesteps or step" },
    prediction_type: { type: "enum", values: ["epsilon", "sample", "v_prediction"], default: "epsilon" },
    thresholding:
      cls === "TCDScheduler"
        ? { type: "inert", default: false, why: "TCDScheduler.step never reads it" }
        : { type: "only", value: false, default: false, why: "dynamic thresholding is not implemented" },
    dynamic_thresholding_ratio: { type: "inert", default: 0.995, why: "only read when thresholding is true" },
    sample_max_value: { type: "inert", default: 1.0, why: "only read when thresholding is true" },
    timestep_spacing: { type: "inert", default: "leading", why: "not read by this class's set_timesteps" },
    timestep_scaling: { type: "number", default: 10.0 },
  };
}

/**
 * The LCM/TCD timestep schedule: the `original_inference_steps` "skipping" grid (k·j − 1, j = 1..orig, with
 * k = num_train // orig) reversed, sampled at floor(np.linspace(0, orig, steps, endpoint=False)).
 */
export function consistencyTimesteps(cls: string, steps: number, numTrain: number, originalSteps: number): number[] {
  if (originalSteps > numTrain) {
    throw new Error(`${cls}: original_inference_steps ${originalSteps} exceeds num_train_timesteps ${numTrain}`);
  }
  if (steps > originalSteps) {
    throw new Error(`${cls}.setTimesteps: steps ${steps} cannot exceed original_inference_steps ${originalSteps}`);
  }
  const k = Math.floor(numTrain / originalSteps);
  const origin: number[] = [];
  for (let j = originalSteps; j >= 1; j--) origin.push(j * k - 1);
  return Array.from(npLinspace(0, originalSteps, steps, false), (v) => origin[Math.floor(v)]!);
}

/**
 * What LCM and TCD share: config, alphas_cumprod, the skipping-grid timesteps, no input scaling,
 * and ᾱ lookup by integer timestep. Subclasses add their step math.
 */
export abstract class ConsistencySchedulerBase extends SchedulerBase {
  readonly timestepsDtype = "int64" as const;
  readonly config: Readonly<ConsistencyConfig>;
  readonly alphasCumprod: Float32Array;
  readonly initNoiseSigma = 1.0;
  readonly sigmas = undefined;

  /** `cls` is passed in because subclass fields (className) are not set yet while this runs. */
  constructor(cls: SchedulerClassName, rawConfig: Record<string, unknown>) {
    super();
    this.config = resolveConfig(cls, consistencyKeySpecs(cls), rawConfig) as unknown as ConsistencyConfig;
    this.alphasCumprod = computeNoiseTables(this.config).alphasCumprod;
  }

  setTimesteps(steps: number, ...unsupported: unknown[]): void {
    const { num_train_timesteps: numTrain, original_inference_steps: orig } = this.config;
    this.checkSteps(steps, numTrain, unsupported);
    this.commitTimesteps(consistencyTimesteps(this.className, steps, numTrain, orig));
  }

  /** Consistency models do not scale the model input. */
  scaleModelInput(sample: Float32Array, _timestep: number): Float32Array {
    return sample;
  }

  protected alphaAt(t: number): number {
    if (t < 0) return this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
    const a = this.alphasCumprod[t];
    if (a === undefined || !Number.isInteger(t)) throw new Error(`${this.className}: timestep ${t} is not an index of alphas_cumprod`);
    return a;
  }
}

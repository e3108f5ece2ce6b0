import { betaKeys, resolveConfig, type ClassKeySpecs } from "./config.ts";
import { computeNoiseTables, type BetaScheduleConfig } from "./noise-schedule.ts";
import { SchedulerBase } from "./scheduler-base.ts";
import type { SchedulerClassName } from "./types.ts";
import { f32, sqrtF32 } from "./float32.ts";
import { npArange, npInterp, npLinspace, npRoundHalfEven } from "./numpy-compat.ts";

export type TimestepSpacing = "linspace" | "leading" | "trailing";

/** Keys EulerDiscreteScheduler and EulerAncestralDiscreteScheduler share (v0.30.3 defaults). */
export function eulerSharedKeySpecs(): ClassKeySpecs {
  return {
    ...betaKeys({ beta_start: 0.0001, beta_end: 0.02, beta_schedule: "linear" }),
    timestep_spacing: { type: "enum", values: ["linspace", "leading", "trailing"], default: "linspace" },
    steps_offset: { type: "number", default: 0, integer: true },
  };
}

/**
 * The float32 timesteps of `set_timesteps` for a spacing, in numpy's float64 order of operations:
 * linspace: np.linspace(0, N−1, steps)[::-1]; leading: round(arange(steps)·(N // steps))[::-1] + steps_offset;
 * trailing: round(np.arange(N, 0, −N/steps)) − 1.
 */
export function eulerTimesteps(spacing: TimestepSpacing, steps: number, numTrain: number, stepsOffset: number): Float32Array {
  switch (spacing) {
    case "linspace":
      return Float32Array.from(npLinspace(0, numTrain - 1, steps)).reverse();
    case "leading": {
      const ratio = Math.floor(numTrain / steps);
      const t = Float32Array.from({ length: steps }, (_, i) => npRoundHalfEven(i * ratio)).reverse();
      return t.map((v) => f32(v + stepsOffset));
    }
    case "trailing": {
      const t = Float32Array.from(npArange(numTrain, 0, -(numTrain / steps)), npRoundHalfEven);
      return t.map((v) => f32(v - 1));
    }
  }
}

/** Training sigmas ((1 − ᾱ)/ᾱ)^½ in float32, indexed by training timestep. */
export function trainingSigmas(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => sqrtF32(f32(f32(1 - a) / a)));
}

/** np.interp of the training sigmas at the timesteps (float64), then [..., last] as float32. */
export function interpolatedSigmas(timesteps: Float32Array, trainSigmas: Float32Array, last: number): Float32Array {
  const xp = Float64Array.from({ length: trainSigmas.length }, (_, i) => i);
  const interp = npInterp(timesteps, xp, trainSigmas);
  const out = new Float32Array(timesteps.length + 1);
  out.set(interp);
  out[timesteps.length] = last;
  return out;
}

/** `init_noise_sigma`: max(sigmas) for linspace/trailing spacing, else (max² + 1)^½ in float32. */
export function eulerInitNoiseSigma(sigmas: Float32Array, spacing: TimestepSpacing): number {
  let max = -Infinity;
  for (const s of sigmas) if (s > max) max = s;
  return spacing === "linspace" || spacing === "trailing" ? max : sqrtF32(f32(f32(max * max) + 1));
}

/** `scale_model_input`: sample / (σ² + 1)^½ in float32. */
export function scaleBySigma(sample: Float32Array, sigma: number): Float32Array {
  const d = sqrtF32(f32(f32(sigma * sigma) + 1));
  return sample.map((v) => f32(v / d));
}

/** v-prediction x0: e·(−σ/(σ²+1)^½) + x/(σ²+1), as torch evaluates it. */
export function vPredictionWeights(sigma: number): { onModel: number; divisor: number } {
  const s2p1 = f32(f32(sigma * sigma) + 1);
  return { onModel: f32(-sigma / sqrtF32(s2p1)), divisor: s2p1 };
}

/** The config keys both Euler classes read here (each class adds its own). */
export interface EulerSharedConfig extends BetaScheduleConfig {
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/**
 * What Euler and Euler-ancestral share: config resolution, alphas_cumprod, the sigma table (the
 * reversed training sigmas plus a final 0 until set_timesteps, as diffusers holds it), init noise
 * sigma and the model-input scaling. Subclasses set the sigmas in setTimesteps and add their step math.
 */
export abstract class EulerSchedulerBase<C extends EulerSharedConfig> extends SchedulerBase {
  readonly timestepsDtype = "float32" as const;
  readonly config: Readonly<C>;
  readonly alphasCumprod: Float32Array;
  protected sigmaTable: Float32Array;

  /** `cls` is passed in because subclass fields (className) are not set yet while this runs. */
  constructor(cls: SchedulerClassName, specs: ClassKeySpecs, rawConfig: Record<string, unknown>) {
    super();
    this.config = resolveConfig(cls, specs, rawConfig) as unknown as C;
    this.alphasCumprod = computeNoiseTables(this.config).alphasCumprod;
    const train = trainingSigmas(this.alphasCumprod);
    this.sigmaTable = new Float32Array(train.length + 1);
    this.sigmaTable.set(train.slice().reverse());
  }

  get sigmas(): Float32Array {
    return this.sigmaTable;
  }

  get initNoiseSigma(): number {
    return eulerInitNoiseSigma(this.sigmaTable, this.config.timestep_spacing);
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    return scaleBySigma(sample, this.sigmaTable[this.initIndex(timestep)]!);
  }

  override modelInputDivisor(stepIndex: number): number {
    const sigma = this.sigmaTable[stepIndex]!;
    return sqrtF32(f32(f32(sigma * sigma) + 1));
  }
}

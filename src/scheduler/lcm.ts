import { ConsistencySchedulerBase, type ConsistencyConfig } from "./consistency-common.ts";
import { f32, sqrtF32 } from "./float32.ts";
import type { DiffusionScheduler, LinearWeights, StepCoefficients, StepOptions, StepOutput } from "./types.ts";

/** diffusers' LCM boundary-condition sigma_data. */
const SIGMA_DATA_SQUARED = 0.25;

export type LcmConfig = ConsistencyConfig;

/** The float32 scalars of one LCM step (shared by `step` and `stepCoefficients`). */
interface LcmStepScalars {
  sqrtAlphaT: number;
  sqrtBetaT: number;
  sqrtAlphaPrev: number;
  sqrtBetaPrev: number;
  cSkip: number;
  cOut: number;
  isLast: boolean;
}

/** diffusers v0.30.3 `LCMScheduler` (multistep latent consistency sampling), with Q-Sched coefficients. */
export class LcmScheduler extends ConsistencySchedulerBase implements DiffusionScheduler {
  readonly className = "LCMScheduler" as const;
  constructor(rawConfig: Record<string, unknown> = {}) {
    super("LCMScheduler", rawConfig);
  }

  private scalars(i: number, timestep: number): LcmStepScalars {
    const isLast = i === this.timestepList.length - 1;
    const prev = isLast ? timestep : this.timestepList[i + 1]!;
    const alphaT = this.alphaAt(timestep);
    const alphaPrev = this.alphaAt(prev);
    // The timestep is an int64 tensor: `t * timestep_scaling` is float32, and `c / tensor` is reciprocal(tensor)·c.
    const scaled = f32(f32(timestep) * f32(this.config.timestep_scaling));
    const denom = f32(f32(scaled * scaled) + SIGMA_DATA_SQUARED);
    return {
      sqrtAlphaT: sqrtF32(alphaT),
      sqrtBetaT: sqrtF32(f32(1 - alphaT)),
      sqrtAlphaPrev: sqrtF32(alphaPrev),
      sqrtBetaPrev: sqrtF32(f32(1 - alphaPrev)),
      cSkip: f32(f32(1 / denom) * SIGMA_DATA_SQUARED),
      cOut: f32(scaled / sqrtF32(denom)),
      isLast,
    };
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const { e, x } = this.scaledInputs(i, modelOutput, sample);
    const k = this.scalars(i, timestep);
    const { prediction_type: pred, clip_sample: clip, clip_sample_range: range } = this.config;
    const n = x.length;
    const denoised = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let x0: number;
      if (pred === "epsilon") x0 = f32(f32(x[j]! - f32(k.sqrtBetaT * e[j]!)) / k.sqrtAlphaT);
      else if (pred === "sample") x0 = e[j]!;
      else x0 = f32(f32(k.sqrtAlphaT * x[j]!) - f32(k.sqrtBetaT * e[j]!));
      if (clip) x0 = Math.min(Math.max(x0, -f32(range)), f32(range));
      denoised[j] = f32(f32(k.cOut * x0) + f32(k.cSkip * x[j]!));
    }
    if (k.isLast) {
      this.advance(i);
      return { prevSample: denoised, denoised };
    }
    const noise = this.drawNoise(n, opts);
    if (!noise) throw new Error(`${this.className}.step: step ${i} adds noise; pass a generator (or noise) in the options`);
    const prevSample = new Float32Array(n);
    for (let j = 0; j < n; j++) prevSample[j] = f32(f32(k.sqrtAlphaPrev * denoised[j]!) + f32(k.sqrtBetaPrev * noise[j]!));
    this.advance(i);
    return { prevSample, denoised, noise };
  }

  stepCoefficients(): StepCoefficients[] {
    this.requireTimesteps();
    if (this.config.clip_sample) throw new Error(`${this.className}: clip_sample makes the step non-linear; no StepCoefficients`);
    return this.timestepList.map((t, i) => {
      const k = this.scalars(i, t);
      const m = this.coeffs.modelCoeff[i]!;
      const s = this.coeffs.sampleCoeff[i]!;
      const pred = this.config.prediction_type;
      // x0 as weights on the raw (sample, modelOutput), Q-Sched folded in.
      const x0 =
        pred === "epsilon"
          ? { sample: s / k.sqrtAlphaT, modelOutput: (-m * k.sqrtBetaT) / k.sqrtAlphaT }
          : pred === "sample"
            ? { sample: 0, modelOutput: m }
            : { sample: k.sqrtAlphaT * s, modelOutput: -k.sqrtBetaT * m };
      const denoised: LinearWeights = {
        sample: k.cOut * x0.sample + k.cSkip * s,
        modelOutput: k.cOut * x0.modelOutput,
        noise: 0,
      };
      const prevSample: LinearWeights = k.isLast
        ? { ...denoised }
        : { sample: k.sqrtAlphaPrev * denoised.sample, modelOutput: k.sqrtAlphaPrev * denoised.modelOutput, noise: k.sqrtBetaPrev };
      return { stepIndex: i, timestep: t, prevSample, denoised, drawsNoise: !k.isLast };
    });
  }
}

import { ConsistencySchedulerBase } from "./consistency-common.ts";
import { f32, sqrtF32 } from "./float32.ts";
import type { LcmConfig } from "./lcm.ts";
import type { DiffusionScheduler, LinearWeights, StepCoefficients, StepOptions, StepOutput } from "./types.ts";

/** diffusers' default `eta` (gamma) of TCDScheduler.step. */
export const TCD_DEFAULT_ETA = 0.3;

export type TcdConfig = LcmConfig;

interface TcdStepScalars {
  sqrtAlphaT: number;
  sqrtBetaT: number;
  sqrtAlphaS: number;
  sqrtBetaS: number;
  /** sqrt(ᾱ_prev/ᾱ_s) and sqrt(1 − ᾱ_prev/ᾱ_s), used when noise is injected. */
  keep: number;
  fresh: number;
  addsNoise: boolean;
}

/** diffusers v0.30.3 `TCDScheduler` (trajectory consistency distillation sampling), with Q-Sched coefficients. */
export class TcdScheduler extends ConsistencySchedulerBase implements DiffusionScheduler {
  readonly className = "TCDScheduler" as const;
  constructor(rawConfig: Record<string, unknown> = {}) {
    super("TCDScheduler", rawConfig);
  }

  private scalars(i: number, timestep: number, eta: number): TcdStepScalars {
    if (!(eta >= 0 && eta <= 1)) throw new Error(`${this.className}.step: eta must be in [0, 1], got ${eta}`);
    const isLast = i === this.timestepList.length - 1;
    const prev = isLast ? 0 : this.timestepList[i + 1]!;
    // floor((1 − eta) · prev_timestep): a Python float times an int64 tensor, evaluated in float32.
    const s = Math.floor(f32(f32(1 - eta) * prev));
    const alphaT = this.alphaAt(timestep);
    const alphaPrev = this.alphaAt(prev);
    const alphaS = this.alphaAt(s);
    const ratio = f32(alphaPrev / alphaS);
    return {
      sqrtAlphaT: sqrtF32(alphaT),
      sqrtBetaT: sqrtF32(f32(1 - alphaT)),
      sqrtAlphaS: sqrtF32(alphaS),
      sqrtBetaS: sqrtF32(f32(1 - alphaS)),
      keep: sqrtF32(ratio),
      fresh: sqrtF32(f32(1 - ratio)),
      addsNoise: eta > 0 && !isLast,
    };
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const eta = opts.eta ?? TCD_DEFAULT_ETA;
    const k = this.scalars(i, timestep, eta);
    const { e, x } = this.scaledInputs(i, modelOutput, sample);
    const pred = this.config.prediction_type;
    const n = x.length;
    const noised = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let x0: number;
      let eps: number;
      if (pred === "epsilon") {
        x0 = f32(f32(x[j]! - f32(k.sqrtBetaT * e[j]!)) / k.sqrtAlphaT);
        eps = e[j]!;
      } else if (pred === "sample") {
        x0 = e[j]!;
        eps = f32(f32(x[j]! - f32(k.sqrtAlphaT * x0)) / k.sqrtBetaT);
      } else {
        x0 = f32(f32(k.sqrtAlphaT * x[j]!) - f32(k.sqrtBetaT * e[j]!));
        eps = f32(f32(k.sqrtAlphaT * e[j]!) + f32(k.sqrtBetaT * x[j]!));
      }
      noised[j] = f32(f32(k.sqrtAlphaS * x0) + f32(k.sqrtBetaS * eps));
    }
    if (!k.addsNoise) {
      this.advance(i);
      return { prevSample: noised, denoised: noised };
    }
    const noise = this.drawNoise(n, opts);
    if (!noise) throw new Error(`${this.className}.step: step ${i} adds noise (eta > 0); pass a generator (or noise)`);
    const prevSample = new Float32Array(n);
    for (let j = 0; j < n; j++) prevSample[j] = f32(f32(k.keep * noised[j]!) + f32(k.fresh * noise[j]!));
    this.advance(i);
    return { prevSample, denoised: noised, noise };
  }

  stepCoefficients(opts: { eta?: number } = {}): StepCoefficients[] {
    this.requireTimesteps();
    const eta = opts.eta ?? TCD_DEFAULT_ETA;
    return this.timestepList.map((t, i) => {
      const k = this.scalars(i, t, eta);
      const m = this.coeffs.modelCoeff[i]!;
      const s = this.coeffs.sampleCoeff[i]!;
      const pred = this.config.prediction_type;
      let x0: { sample: number; modelOutput: number };
      let eps: { sample: number; modelOutput: number };
      if (pred === "epsilon") {
        x0 = { sample: s / k.sqrtAlphaT, modelOutput: (-m * k.sqrtBetaT) / k.sqrtAlphaT };
        eps = { sample: 0, modelOutput: m };
      } else if (pred === "sample") {
        x0 = { sample: 0, modelOutput: m };
        eps = { sample: s / k.sqrtBetaT, modelOutput: (-k.sqrtAlphaT * m) / k.sqrtBetaT };
      } else {
        x0 = { sample: k.sqrtAlphaT * s, modelOutput: -k.sqrtBetaT * m };
        eps = { sample: k.sqrtBetaT * s, modelOutput: k.sqrtAlphaT * m };
      }
      const denoised: LinearWeights = {
        sample: k.sqrtAlphaS * x0.sample + k.sqrtBetaS * eps.sample,
        modelOutput: k.sqrtAlphaS * x0.modelOutput + k.sqrtBetaS * eps.modelOutput,
        noise: 0,
      };
      const prevSample: LinearWeights = k.addsNoise
        ? { sample: k.keep * denoised.sample, modelOutput: k.keep * denoised.modelOutput, noise: k.fresh }
        : { ...denoised };
      return { stepIndex: i, timestep: t, prevSample, denoised, drawsNoise: k.addsNoise };
    });
  }
}

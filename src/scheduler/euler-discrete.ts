import type { ClassKeySpecs } from "./config.ts";
import {
  EulerSchedulerBase, eulerSharedKeySpecs, eulerTimesteps, interpolatedSigmas, trainingSigmas, vPredictionWeights,
  type EulerSharedConfig,
} from "./euler-common.ts";
import { f32, sqrtF32 } from "./float32.ts";
import type { DiffusionScheduler, StepCoefficients, StepOptions, StepOutput } from "./types.ts";

export interface EulerConfig extends EulerSharedConfig {
  prediction_type: "epsilon" | "v_prediction" | "sample" | "original_sample";
  final_sigmas_type: "zero" | "sigma_min";
  timestep_type: "discrete" | "continuous";
}

function eulerKeySpecs(): ClassKeySpecs {
  return {
    ...eulerSharedKeySpecs(),
    prediction_type: { type: "enum", values: ["epsilon", "v_prediction", "sample", "original_sample"], default: "epsilon" },
    interpolation_type: { type: "only", value: "linear", default: "linear", why: "log_linear sigma interpolation is not implemented" },
    use_karras_sigmas: { type: "only", value: false, default: false, why: "Karras sigmas are not implemented" },
    sigma_min: { type: "inert", default: null, why: "only read with use_karras_sigmas" },
    sigma_max: { type: "inert", default: null, why: "only read with use_karras_sigmas" },
    timestep_type: { type: "enum", values: ["discrete", "continuous"], default: "discrete" },
    final_sigmas_type: { type: "enum", values: ["zero", "sigma_min"], default: "zero" },
  };
}

/**
 * diffusers v0.30.3 `EulerDiscreteScheduler` (s_churn = 0, the pipelines' default), with Q-Sched coefficients.
 * Like diffusers it draws `randn_tensor(shape, generator)` on every step although with s_churn = 0 the noise is
 * unused: the generator still advances.
 */
export class EulerDiscreteScheduler extends EulerSchedulerBase<EulerConfig> implements DiffusionScheduler {
  readonly className = "EulerDiscreteScheduler" as const;
  constructor(rawConfig: Record<string, unknown> = {}) {
    super("EulerDiscreteScheduler", eulerKeySpecs(), rawConfig);
    if (this.config.timestep_type === "continuous" && this.config.prediction_type === "v_prediction") {
      throw new Error(`${this.className} config: "timestep_type" = "continuous" with v_prediction is not implemented`);
    }
  }

  setTimesteps(steps: number, ...unsupported: unknown[]): void {
    const c = this.config;
    this.checkSteps(steps, c.num_train_timesteps, unsupported);
    const timesteps = eulerTimesteps(c.timestep_spacing, steps, c.num_train_timesteps, c.steps_offset);
    const train = trainingSigmas(this.alphasCumprod);
    const last = c.final_sigmas_type === "zero" ? 0 : train[0]!;
    this.sigmaTable = interpolatedSigmas(timesteps, train, last);
    this.commitTimesteps(Array.from(timesteps), steps);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const { e, x } = this.scaledInputs(i, modelOutput, sample);
    const sigma = this.sigmaTable[i]!;
    const noise = this.drawNoise(x.length, opts); // drawn and unused (s_churn = 0), as diffusers does
    const pred = this.config.prediction_type;
    const v = vPredictionWeights(sigma);
    const dt = f32(this.sigmaTable[i + 1]! - sigma);
    const n = x.length;
    const denoised = new Float32Array(n);
    const prevSample = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let x0: number;
      if (pred === "epsilon") x0 = f32(x[j]! - f32(sigma * e[j]!));
      else if (pred === "v_prediction") x0 = f32(f32(e[j]! * v.onModel) + f32(x[j]! / v.divisor));
      else x0 = e[j]!;
      denoised[j] = x0;
      const derivative = f32(f32(x[j]! - x0) / sigma);
      prevSample[j] = f32(x[j]! + f32(derivative * dt));
    }
    this.advance(i);
    return noise ? { prevSample, denoised, noise } : { prevSample, denoised };
  }

  stepCoefficients(): StepCoefficients[] {
    this.requireTimesteps();
    return this.timestepList.map((t, i) => {
      const sigma = this.sigmaTable[i]!;
      const dt = this.sigmaTable[i + 1]! - sigma;
      const m = this.coeffs.modelCoeff[i]!;
      const s = this.coeffs.sampleCoeff[i]!;
      const pred = this.config.prediction_type;
      const v = vPredictionWeights(sigma);
      const x0 =
        pred === "epsilon"
          ? { sample: s, modelOutput: -sigma * m }
          : pred === "v_prediction"
            ? { sample: s / v.divisor, modelOutput: v.onModel * m }
            : { sample: 0, modelOutput: m };
      // prev = x + (x − x0)/σ · dt
      const prevSample = {
        sample: s + ((s - x0.sample) / sigma) * dt,
        modelOutput: (-x0.modelOutput / sigma) * dt,
        noise: 0,
      };
      return { stepIndex: i, timestep: t, prevSample, denoised: { ...x0, noise: 0 }, drawsNoise: true };
    });
  }
}

import type { ClassKeySpecs } from "./config.ts";
import {
  EulerSchedulerBase, eulerSharedKeySpecs, eulerTimesteps, interpolatedSigmas, trainingSigmas, vPredictionWeights,
  type EulerSharedConfig,
} from "./euler-common.ts";
import { f32, sqrtF32 } from "./float32.ts";
import type { DiffusionScheduler, StepCoefficients, StepOptions, StepOutput } from "./types.ts";

export interface EulerAncestralConfig extends EulerSharedConfig {
  prediction_type: "epsilon" | "v_prediction";
}

function eulerAncestralKeySpecs(): ClassKeySpecs {
  return {
    ...eulerSharedKeySpecs(),
    // diffusers raises NotImplementedError for "sample" in this class.
    prediction_type: { type: "enum", values: ["epsilon", "v_prediction"], default: "epsilon" },
  };
}

/** σ_up, σ_down of the ancestral step from σ_from to σ_to (float32, torch's op order). */
function ancestralSigmas(from: number, to: number): { up: number; down: number } {
  const to2 = f32(to * to);
  const from2 = f32(from * from);
  const up = sqrtF32(f32(f32(to2 * f32(from2 - to2)) / from2));
  const down = sqrtF32(f32(to2 - f32(up * up)));
  return { up, down };
}

/**
 * diffusers v0.30.3 `EulerAncestralDiscreteScheduler`, with Q-Sched coefficients (the q-sched repo's modified file:
 * coefficients applied after the float32 upcast). Draws noise on every step, including the last (σ_up = 0 there).
 */
export class EulerAncestralDiscreteScheduler extends EulerSchedulerBase<EulerAncestralConfig> implements DiffusionScheduler {
  readonly className = "EulerAncestralDiscreteScheduler" as const;
  constructor(rawConfig: Record<string, unknown> = {}) {
    super("EulerAncestralDiscreteScheduler", eulerAncestralKeySpecs(), rawConfig);
  }

  setTimesteps(steps: number, ...unsupported: unknown[]): void {
    const c = this.config;
    this.checkSteps(steps, c.num_train_timesteps, unsupported);
    const timesteps = eulerTimesteps(c.timestep_spacing, steps, c.num_train_timesteps, c.steps_offset);
    this.sigmaTable = interpolatedSigmas(timesteps, trainingSigmas(this.alphasCumprod), 0);
    this.commitTimesteps(Array.from(timesteps), steps);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const { e, x } = this.scaledInputs(i, modelOutput, sample);
    const sigma = this.sigmaTable[i]!;
    const { up, down } = ancestralSigmas(sigma, this.sigmaTable[i + 1]!);
    const dt = f32(down - sigma);
    const v = vPredictionWeights(sigma);
    const n = x.length;
    const denoised = new Float32Array(n);
    const prevSample = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const x0 =
        this.config.prediction_type === "epsilon"
          ? f32(x[j]! - f32(sigma * e[j]!))
          : f32(f32(e[j]! * v.onModel) + f32(x[j]! / v.divisor));
      denoised[j] = x0;
      const derivative = f32(f32(x[j]! - x0) / sigma);
      prevSample[j] = f32(x[j]! + f32(derivative * dt));
    }
    const noise = this.drawNoise(n, opts);
    if (!noise) throw new Error(`${this.className}.step: every step adds noise; pass a generator (or noise) in the options`);
    for (let j = 0; j < n; j++) prevSample[j] = f32(prevSample[j]! + f32(noise[j]! * up));
    this.advance(i);
    return { prevSample, denoised, noise };
  }

  stepCoefficients(): StepCoefficients[] {
    this.requireTimesteps();
    return this.timestepList.map((t, i) => {
      const sigma = this.sigmaTable[i]!;
      const { up, down } = ancestralSigmas(sigma, this.sigmaTable[i + 1]!);
      const dt = down - sigma;
      const m = this.coeffs.modelCoeff[i]!;
      const s = this.coeffs.sampleCoeff[i]!;
      const v = vPredictionWeights(sigma);
      const x0 =
        this.config.prediction_type === "epsilon"
          ? { sample: s, modelOutput: -sigma * m }
          : { sample: s / v.divisor, modelOutput: v.onModel * m };
      const prevSample = {
        sample: s + ((s - x0.sample) / sigma) * dt,
        modelOutput: (-x0.modelOutput / sigma) * dt,
        noise: up,
      };
      return { stepIndex: i, timestep: t, prevSample, denoised: { ...x0, noise: 0 }, drawsNoise: true };
    });
  }
}

import { resolveConfig, type ClassKeySpecs } from "./config.ts";
import { f32 } from "./float32.ts";
import { npLinspace } from "./numpy-compat.ts";
import { SchedulerBase } from "./scheduler-base.ts";
import type { DiffusionScheduler, StepCoefficients, StepOptions, StepOutput } from "./types.ts";

export interface FlowMatchConfig {
  num_train_timesteps: number;
  shift: number;
}

function flowMatchKeySpecs(): ClassKeySpecs {
  return {
    num_train_timesteps: { type: "number", default: 1000, integer: true, min: 1 },
    shift: { type: "number", default: 1.0, min: 0, exclusiveMin: true },
    use_dynamic_shifting: { type: "only", value: false, default: false, why: "resolution-dependent shifting (mu) is not implemented" },
    base_shift: { type: "inert", default: 0.5, why: "only read with use_dynamic_shifting" },
    max_shift: { type: "inert", default: 1.15, why: "only read with use_dynamic_shifting" },
    base_image_seq_len: { type: "inert", default: 256, why: "only read with use_dynamic_shifting" },
    max_image_seq_len: { type: "inert", default: 4096, why: "only read with use_dynamic_shifting" },
  };
}

/** The sigmas FluxPipeline (v0.30.3) passes to set_timesteps: np.linspace(1.0, 1/steps, steps). */
export function fluxPipelineSigmas(steps: number): Float64Array {
  return npLinspace(1.0, 1 / steps, steps);
}

/**
 * diffusers v0.30.3 `FlowMatchEulerDiscreteScheduler` with a static shift (FLUX.1-schnell), with Q-Sched coefficients
 * (the q-sched repo's modified file). Noise-free: prev = x + (σ_next − σ)·v. Latents are not scaled (initNoiseSigma 1).
 */
export class FlowMatchEulerDiscreteScheduler extends SchedulerBase implements DiffusionScheduler {
  readonly className = "FlowMatchEulerDiscreteScheduler" as const;
  readonly timestepsDtype = "float32" as const;
  readonly config: Readonly<FlowMatchConfig>;
  readonly initNoiseSigma = 1.0;
  private sigmaTable: Float32Array;
  private readonly sigmaMin: number;
  private readonly sigmaMax: number;

  constructor(rawConfig: Record<string, unknown> = {}) {
    super();
    this.config = resolveConfig(this.className, flowMatchKeySpecs(), rawConfig) as unknown as FlowMatchConfig;
    const { num_train_timesteps: n, shift } = this.config;
    // Training sigmas t/N for t = N..1, shifted, all as float32 tensor ops.
    const shiftF = f32(shift);
    const shiftMinusOne = f32(shift - 1);
    this.sigmaTable = Float32Array.from({ length: n }, (_, i) => {
      const s = f32((n - i) / n);
      return f32(f32(shiftF * s) / f32(1 + f32(shiftMinusOne * s)));
    });
    this.sigmaMax = this.sigmaTable[0]!;
    this.sigmaMin = this.sigmaTable[n - 1]!;
  }

  get sigmas(): Float32Array {
    return this.sigmaTable;
  }

  /**
   * `set_timesteps(steps)`, or with `sigmas` the pipeline's explicit schedule (FluxPipeline passes
   * `fluxPipelineSigmas(steps)`). The shift is applied in float64 (numpy) before the float32 cast.
   */
  setTimesteps(steps: number, opts: { sigmas?: ArrayLike<number> } = {}, ...unsupported: unknown[]): void {
    const { num_train_timesteps: n, shift } = this.config;
    this.checkSteps(steps, n, unsupported);
    const unknown = Object.keys(opts ?? {}).filter((k) => k !== "sigmas");
    if (unknown.length) throw new Error(`${this.className}.setTimesteps: options other than sigmas are not supported, found ${unknown.join(", ")}`);
    let base: Float64Array;
    if (opts.sigmas) {
      if (opts.sigmas.length !== steps) throw new Error(`${this.className}.setTimesteps: ${opts.sigmas.length} sigmas given for ${steps} steps`);
      base = Float64Array.from(opts.sigmas);
      if (base.some((v) => !Number.isFinite(v))) throw new Error(`${this.className}.setTimesteps: sigmas must be finite`);
    } else {
      base = npLinspace(this.sigmaMax * n, this.sigmaMin * n, steps).map((t) => t / n);
    }
    const shifted = Float32Array.from(base, (s) => (shift * s) / (1 + (shift - 1) * s));
    this.sigmaTable = new Float32Array(steps + 1);
    this.sigmaTable.set(shifted);
    this.commitTimesteps(Array.from(shifted, (s) => f32(s * n)));
  }

  /** Flow matching does not scale the model input. */
  scaleModelInput(sample: Float32Array, _timestep: number): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, _opts: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const { e, x } = this.scaledInputs(i, modelOutput, sample);
    const dSigma = f32(this.sigmaTable[i + 1]! - this.sigmaTable[i]!);
    const prevSample = x.map((v, j) => f32(v + f32(dSigma * e[j]!)));
    this.advance(i);
    return { prevSample };
  }

  stepCoefficients(): StepCoefficients[] {
    this.requireTimesteps();
    return this.timestepList.map((t, i) => {
      const dSigma = this.sigmaTable[i + 1]! - this.sigmaTable[i]!;
      const prevSample = { sample: this.coeffs.sampleCoeff[i]!, modelOutput: dSigma * this.coeffs.modelCoeff[i]!, noise: 0 };
      return { stepIndex: i, timestep: t, prevSample, denoised: null, drawsNoise: false };
    });
  }
}

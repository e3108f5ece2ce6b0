import type { TorchGenerator } from "./rng/torch-generator.ts";

/** The scheduler classes this module implements (diffusers `_class_name`). */
export type SchedulerClassName =
  | "LCMScheduler"
  | "TCDScheduler"
  | "EulerDiscreteScheduler"
  | "EulerAncestralDiscreteScheduler"
  | "FlowMatchEulerDiscreteScheduler";

/** Options of one `step()` call. */
export interface StepOptions {
  /** The generator the pipeline drew the latents with; steps that draw noise advance it as diffusers does. */
  generator?: TorchGenerator | TorchGenerator[];
  /** Latent shape; needed only with a list of generators (one per batch item). Defaults to [numel]. */
  shape?: readonly number[];
  /** Use this noise instead of drawing it (the generator is then left untouched). */
  noise?: Float32Array;
  /** TCD only: gamma/eta in [0, 1] (diffusers default 0.3). */
  eta?: number;
}

/** What `step()` returns (diffusers' output dataclass, camelCase). */
export interface StepOutput {
  prevSample: Float32Array;
  /** LCM `denoised`, Euler/Euler-A `pred_original_sample`, TCD `pred_noised_sample`; absent for flow matching. */
  denoised?: Float32Array;
  /** The noise this step drew from the generator, when it drew any (Euler draws and then ignores it). */
  noise?: Float32Array;
}

/** Scalar weights of a linear combination of the step's inputs. */
export interface LinearWeights {
  sample: number;
  modelOutput: number;
  noise: number;
}

/**
 * Everything a fused GPU step kernel needs for step i, Q-Sched coefficients folded in:
 * prevSample = a·sample + b·modelOutput + c·noise, denoised = d·sample + e·modelOutput.
 * Built from the same float32 per-step scalars the CPU `step()` uses; the CPU step applies them in torch's op order
 * (bit-exact), a fused kernel applies them at once (equal to within float32 rounding).
 */
export interface StepCoefficients {
  stepIndex: number;
  timestep: number;
  prevSample: LinearWeights;
  /** null where diffusers returns no denoised estimate (flow matching). */
  denoised: LinearWeights | null;
  /** Whether the step consumes randn(shape) from the generator (even when `prevSample.noise` is 0, as Euler). */
  drawsNoise: boolean;
}

/** The diffusers-shaped scheduler API shared by all classes. */
export interface DiffusionScheduler {
  readonly className: SchedulerClassName;
  /** Resolved config (every key the math reads, defaults filled in). */
  readonly config: Readonly<Record<string, unknown>>;
  /** After `setTimesteps`: the timesteps in order (int64 values for LCM/TCD, float32 values otherwise). */
  readonly timesteps: readonly number[];
  readonly timestepsDtype: "int64" | "float32";
  /** Euler/Euler-A/flow: the float32 sigmas (steps + 1 values); undefined for LCM/TCD. */
  readonly sigmas: Float32Array | undefined;
  readonly initNoiseSigma: number;
  readonly numInferenceSteps: number | null;
  readonly stepIndex: number | null;
  /** Q-Sched per-step multipliers in use (ones when none were set). */
  readonly modelCoeff: Float32Array;
  readonly sampleCoeff: Float32Array;
  setTimesteps(steps: number): void;
  setBeginIndex(index: number): void;
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  /** The divisor `scaleModelInput` applies at step i (1 where the class does not scale). */
  modelInputDivisor(stepIndex: number): number;
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts?: StepOptions): StepOutput;
  /** Per-step scalars for a GPU step kernel (after `setTimesteps`); `eta` applies to TCD. */
  stepCoefficients(opts?: { eta?: number }): StepCoefficients[];
}

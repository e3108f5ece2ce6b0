import { f32 } from "./float32.ts";
import { resolveQSched, validateQSchedSpec, type QSchedCoefficients, type QSchedSpec } from "./qsched.ts";
import { randnTensor } from "./rng/randn-tensor.ts";
import type { SchedulerClassName, StepCoefficients, StepOptions } from "./types.ts";

/**
 * State and checks every scheduler shares: the timesteps, the step index (diffusers `_step_index`, found from the
 * first timestep passed in, then +1 per step), Q-Sched coefficients, and noise drawing through the generator.
 */
export abstract class SchedulerBase {
  abstract readonly className: SchedulerClassName;
  abstract readonly config: Readonly<Record<string, unknown>>;
  abstract readonly timestepsDtype: "int64" | "float32";
  protected timestepList: number[] = [];
  protected steps: number | null = null;
  /** The step count `setTimesteps` was asked for (diffusers' num_inference_steps); see coefficientsFor. */
  private asked: number | null = null;
  protected index: number | null = null;
  protected begin: number | null = null;
  private qsched: QSchedSpec | null = null;
  protected coeffs: QSchedCoefficients = { modelCoeff: new Float32Array(0), sampleCoeff: new Float32Array(0) };

  get timesteps(): readonly number[] {
    return this.timestepList;
  }
  get numInferenceSteps(): number | null {
    return this.asked;
  }
  get stepIndex(): number | null {
    return this.index;
  }
  get modelCoeff(): Float32Array {
    return this.coeffs.modelCoeff;
  }
  get sampleCoeff(): Float32Array {
    return this.coeffs.sampleCoeff;
  }

  /**
   * Sets (or with null clears) the Q-Sched coefficients. Like the paper's code they may be set before
   * `setTimesteps`; a linear (m, s) rule is re-expanded for each step count, explicit arrays must match it.
   */
  setQSched(spec: QSchedSpec | null): this {
    if (spec !== null) validateQSchedSpec(spec);
    if (this.steps !== null) this.coeffs = this.coefficientsFor(spec, this.steps, this.asked!);
    this.qsched = spec;
    return this;
  }

  /**
   * Per-step coefficients for a schedule of `length` timesteps asked for as `asked` steps. The two differ
   * only where diffusers' trailing spacing rounds np.arange(N, 0, −N/steps) to steps + 1 entries (61, 103,
   * 121, ... steps of 1000): diffusers then runs the extra timestep (−1), which we reproduce, but Q-Sched's
   * coefficients are sized by num_inference_steps and the paper's code fails there, so Q-Sched is refused.
   */
  private coefficientsFor(spec: QSchedSpec | null, length: number, asked: number): QSchedCoefficients {
    if (spec !== null && length !== asked) {
      throw new Error(
        `${this.className}: timestep_spacing "trailing" gives ${length} timesteps for ${asked} steps (diffusers rounds ` +
          `np.arange(N, 0, -N/steps) to one more, ending at timestep -1), and Q-Sched's coefficients are defined per ` +
          `requested step; use ${asked - 1} or ${asked + 1} steps, or another timestep_spacing`,
      );
    }
    return resolveQSched(spec, length);
  }

  /**
   * What `scaleModelInput` divides the sample by at step `i` (1 unless the class scales), so a GPU
   * pipeline can scale without running the CPU method, whose step index only `step()` advances.
   */
  modelInputDivisor(_stepIndex: number): number {
    return 1;
  }

  setBeginIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0) throw new Error(`${this.className}: begin index must be a non-negative integer, got ${index}`);
    this.begin = index;
  }

  /**
   * Shared checks of `setTimesteps(steps)`. `extra`: arguments past the ones a class takes (diffusers' `timesteps=`,
   * `sigmas=` custom schedules, which only flow-match's `sigmas` has here): refused rather than ignored.
   */
  protected checkSteps(steps: number, numTrainTimesteps: number, extra: readonly unknown[] = []): void {
    if (extra.some((a) => a !== undefined)) {
      throw new Error(`${this.className}.setTimesteps: takes only the step count${this.className === "FlowMatchEulerDiscreteScheduler" ? " and { sigmas }" : ""}; custom timesteps or sigmas are not supported, found ${JSON.stringify(extra)}`);
    }
    if (!Number.isInteger(steps) || steps < 1 || steps > numTrainTimesteps) {
      throw new Error(`${this.className}.setTimesteps: steps must be an integer in [1, ${numTrainTimesteps}] (num_train_timesteps), got ${steps}`);
    }
  }

  /**
   * Finishes `setTimesteps(asked)`: stores the schedule, expands Q-Sched coefficients, resets the step index.
   */
  protected commitTimesteps(timesteps: number[], asked = timesteps.length): void {
    this.coeffs = this.coefficientsFor(this.qsched, timesteps.length, asked);
    this.timestepList = timesteps;
    this.steps = timesteps.length;
    this.asked = asked;
    this.index = null;
    this.begin = null;
  }

  /** diffusers `index_for_timestep`: the first match, or the second when the value occurs more than once. */
  protected indexForTimestep(timestep: number): number {
    const matches: number[] = [];
    this.timestepList.forEach((t, i) => t === timestep && matches.push(i));
    if (matches.length === 0) {
      throw new Error(`${this.className}: timestep ${timestep} is not in the schedule [${this.timestepList.join(", ")}]`);
    }
    return matches.length > 1 ? matches[1]! : matches[0]!;
  }

  /**
   * The step index for this call: diffusers `_init_step_index` when none is set yet. Nothing is stored here, so a
   * step that throws leaves the scheduler as it was; `advance(i)` commits.
   */
  protected currentIndex(timestep: number): number {
    if (this.steps === null) throw new Error(`${this.className}: call setTimesteps(steps) before stepping`);
    const index = this.index ?? this.begin ?? this.indexForTimestep(timestep);
    if (index >= this.steps) {
      throw new Error(`${this.className}: all ${this.steps} steps were already taken; call setTimesteps again`);
    }
    return index;
  }

  /** diffusers' scale_model_input also initialises the step index. */
  protected initIndex(timestep: number): number {
    this.index = this.currentIndex(timestep);
    return this.index;
  }

  /** Checks step inputs and applies Q-Sched: model_output·model_coeff[i], sample·sample_coeff[i] (float32). */
  protected scaledInputs(i: number, modelOutput: Float32Array, sample: Float32Array): { e: Float32Array; x: Float32Array } {
    if (modelOutput.length !== sample.length) {
      throw new Error(`${this.className}.step: modelOutput has ${modelOutput.length} values, sample has ${sample.length}`);
    }
    const m = this.coeffs.modelCoeff[i]!;
    const s = this.coeffs.sampleCoeff[i]!;
    return {
      e: m === 1 ? modelOutput : modelOutput.map((v) => f32(v * m)),
      x: s === 1 ? sample : sample.map((v) => f32(v * s)),
    };
  }

  /** The noise of a step: given in `opts.noise`, else `randn_tensor(shape, generator)`; null without either. */
  protected drawNoise(numel: number, opts: StepOptions): Float32Array | null {
    if (opts.noise) {
      if (opts.noise.length !== numel) throw new Error(`${this.className}.step: noise has ${opts.noise.length} values, expected ${numel}`);
      return opts.noise;
    }
    if (!opts.generator) return null;
    const shape = opts.shape ?? [numel];
    // Noise of another size would be misapplied (NaN past its end) or would advance the generator by other counts.
    const count = shape.reduce((a, d) => a * d, 1);
    if (count !== numel) throw new Error(`${this.className}.step: shape [${shape.join(", ")}] holds ${count} values, the sample has ${numel}`);
    return randnTensor(shape, opts.generator);
  }

  /** Marks step i taken (diffusers `_step_index += 1`). */
  protected advance(i: number): void {
    this.index = i + 1;
  }

  protected requireTimesteps(): number {
    if (this.steps === null) throw new Error(`${this.className}: call setTimesteps(steps) first`);
    return this.steps;
  }

  abstract stepCoefficients(opts?: { eta?: number }): StepCoefficients[];
}

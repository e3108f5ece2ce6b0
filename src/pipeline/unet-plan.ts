/**
 * The UNet call of the denoising loop as a recorded plan (src/graph/plan.ts): recorded on the first
 * step (which also computes that step's output), replayed on every later step into one command
 * buffer, with no bind-group or allocation work and intermediates shared by liveness in the plan's
 * arena. Per-step data are plan inputs written before each run: the scaled sample (a GPU copy) and
 * the timestep's sinusoidal projection (computed in float64 on the CPU, as in the eager path).
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { recordPlan, type Plan } from "../graph/plan.ts";
import { timeProjections, type TimeProjections } from "../models/unet/embeddings.ts";
import type { Unet, UnetInputs } from "../models/unet/unet.ts";
import { timestepEmbeddingHost } from "../ops/embeddings.ts";

type FixedInputs = Omit<UnetInputs, "sample" | "timestep" | "projections">;

export class UnetStepPlan {
  private constructor(
    private readonly gpu: Gpu,
    private readonly unet: Unet,
    private readonly plan: Plan<Tensor>,
    private readonly sample: Tensor,
    private readonly projections: TimeProjections,
  ) {}

  /**
   * Records the UNet on the first step's `sample` and `timestep`. `fixed` (context, LCM's guidance
   * embedding, SDXL's pooled embeds and time ids) must stay unchanged while the plan lives.
   */
  static async record(gpu: Gpu, unet: Unet, sample: Tensor, timestep: number, fixed: FixedInputs): Promise<{ plan: UnetStepPlan; output: Tensor }> {
    const batch = sample.shape[0]!;
    const projections = timeProjections(gpu, unet.config, new Array(batch).fill(timestep), fixed.timeIds, unet.dtype);
    const input = gpu.empty(sample.shape, sample.dtype, "unet_plan_sample");
    gpu.copy(sample, input);
    try {
      const plan = await recordPlan(gpu, () => unet.forward({ ...fixed, sample: input, timestep, projections }));
      return { plan: new UnetStepPlan(gpu, unet, plan, input, projections), output: plan.outputs };
    } catch (e) {
      input.dispose();
      projections.timeProj.dispose();
      projections.addTimeProj?.dispose();
      throw e;
    }
  }

  /**
   * Debug run: as `run`, dispatch by dispatch, throwing at the first NaN/Inf with the UNet module and kernel
   * that wrote it. `sample` undefined re-runs the recorded inputs (the first step).
   */
  async runCheckingFinite(sample?: Tensor, timestep?: number): Promise<Tensor> {
    if (sample) this.setInputs(sample, timestep!);
    await this.plan.runCheckingFinite();
    return this.plan.outputs;
  }

  /** Runs the UNet on a new sample and timestep; the output tensor belongs to the plan (valid until the next run). */
  run(sample: Tensor, timestep: number): Tensor {
    this.setInputs(sample, timestep);
    this.plan.run();
    return this.plan.outputs;
  }

  private setInputs(sample: Tensor, timestep: number): void {
    const cfg = this.unet.config;
    const batch = this.sample.shape[0]!;
    this.gpu.copy(sample, this.sample);
    // Only time_proj depends on the step; SDXL's add_time_proj (time ids) is fixed.
    const flags = { flipSinToCos: cfg.flipSinToCos, downscaleFreqShift: cfg.freqShift };
    this.gpu.write(this.projections.timeProj, timestepEmbeddingHost(new Array(batch).fill(timestep), cfg.timeProjDim, flags));
  }

  /** Dispatches replayed per run (for reports). */
  get dispatchCount(): number {
    return this.plan.dispatches.length;
  }

  dispose(): void {
    this.plan.dispose();
    this.sample.dispose();
    this.projections.timeProj.dispose();
    this.projections.addTimeProj?.dispose();
  }
}

/**
 * Scheduler configs as users bring them (session 18 review): other 0.30.3 schedulers' configs swapped to ours, the
 * class asked for over the config's own, StableDiffusionPipeline's config rewrite, and a step's shape that does not
 * match its sample.
 */
import { describe, expect, it } from "vitest";
import { createScheduler, LcmScheduler, TcdScheduler, TorchGenerator } from "../../src/scheduler/index.ts";
import { sdPipelineSchedulerConfig } from "../../src/pipeline/load.ts";

/** A DPMSolverMultistepScheduler config as the Hub has many of (diffusers 0.30 writes every constructor key). */
const DPM = {
  _class_name: "DPMSolverMultistepScheduler", _diffusers_version: "0.30.3", algorithm_type: "dpmsolver++", beta_end: 0.012,
  beta_schedule: "scaled_linear", beta_start: 0.00085, dynamic_thresholding_ratio: 0.995, euler_at_final: false,
  final_sigmas_type: "zero", lambda_min_clipped: -1e9, lower_order_final: true, num_train_timesteps: 1000,
  prediction_type: "epsilon", rescale_betas_zero_snr: false, sample_max_value: 1.0, solver_order: 2, solver_type: "midpoint",
  steps_offset: 1, thresholding: false, timestep_spacing: "leading", trained_betas: null, use_karras_sigmas: false,
  use_lu_lambdas: false, variance_type: null,
};

describe("scheduler configs from elsewhere", () => {
  it("another 0.30.3 scheduler's config becomes ours with className (X.from_config), its own keys ignored", () => {
    const euler = createScheduler(DPM, { className: "EulerDiscreteScheduler" });
    euler.setTimesteps(4);
    expect(euler.className).toBe("EulerDiscreteScheduler");
    expect(Array.from(euler.timesteps)).toEqual([751, 501, 251, 1]);
    const unipc = { ...DPM, _class_name: "UniPCMultistepScheduler", disable_corrector: [], predict_x0: true, solver_p: null };
    expect(() => createScheduler(unipc, { className: "EulerAncestralDiscreteScheduler" })).not.toThrow();
    // A key no 0.30.3 scheduler has is still refused: it may change the math in the version that wrote it.
    expect(() => createScheduler({ ...DPM, made_up_key: 1 }, { className: "EulerDiscreteScheduler" })).toThrow(/unknown key "made_up_key"/);
  });

  it("TCD accepts thresholding (its step never reads it); LCM still refuses it", () => {
    expect(() => new TcdScheduler({ thresholding: true })).not.toThrow();
    expect(() => new LcmScheduler({ thresholding: true })).toThrow(/thresholding/);
  });

  it("a StableDiffusionPipeline's scheduler gets steps_offset 1 and clip_sample false, as diffusers rewrites it", () => {
    const old = { _class_name: "EulerDiscreteScheduler", beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", timestep_spacing: "leading" };
    const asIs = createScheduler(old);
    asIs.setTimesteps(4);
    expect(Array.from(asIs.timesteps)).toEqual([750, 500, 250, 0]);
    const inSd = createScheduler(sdPipelineSchedulerConfig("sd", old));
    inSd.setTimesteps(4);
    expect(Array.from(inSd.timesteps)).toEqual([751, 501, 251, 1]);
    expect(sdPipelineSchedulerConfig("sdxl", old)).toEqual(old);
    expect(sdPipelineSchedulerConfig("sd", { ...old, _class_name: "LCMScheduler", clip_sample: true }).clip_sample).toBe(false);
  });

  it("a step's shape must hold as many values as its sample (before: NaN past the end, or a skewed generator)", () => {
    const s = new LcmScheduler();
    s.setTimesteps(4);
    const x = new Float32Array(8).fill(0.5);
    expect(() => s.step(x, s.timesteps[0]!, x, { generator: new TorchGenerator(0), shape: [2, 2] })).toThrow(/shape \[2, 2\] holds 4 values, the sample has 8/);
    expect(() => s.step(x, s.timesteps[0]!, x, { generator: new TorchGenerator(0), shape: [2, 4] })).not.toThrow();
  });

  it("custom schedules diffusers' set_timesteps takes (timesteps=, sigmas=) are refused, not ignored", async () => {
    const { EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler } = await import("../../src/scheduler/index.ts");
    const euler = new EulerDiscreteScheduler({}) as unknown as { setTimesteps(n: number, o?: unknown): void };
    expect(() => euler.setTimesteps(4, { sigmas: [1, 0.5, 0.2, 0.1] })).toThrow(/takes only the step count; custom timesteps or sigmas are not supported/);
    const flow = new FlowMatchEulerDiscreteScheduler({}) as unknown as { setTimesteps(n: number, o?: unknown): void };
    expect(() => flow.setTimesteps(4, { timesteps: [999, 750, 500, 250] })).toThrow(/options other than sigmas are not supported, found timesteps/);
    expect(() => flow.setTimesteps(4, { sigmas: [1, 0.75, 0.5, 0.25] })).not.toThrow();
  });
});

import { describe, expect, it } from "vitest";
import {
  createScheduler, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler, LcmScheduler, TcdScheduler, TorchGenerator,
  EulerAncestralDiscreteScheduler,
} from "../../src/scheduler/index.ts";

const SD = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" };

describe("scheduler input validation", () => {
  const all = () => [
    new LcmScheduler(SD), new TcdScheduler(SD), new EulerDiscreteScheduler(SD), new EulerAncestralDiscreteScheduler(SD),
    new FlowMatchEulerDiscreteScheduler({}),
  ];

  it("rejects steps < 1, non-integers and steps > num_train_timesteps", () => {
    for (const s of all()) {
      for (const bad of [0, -1, 2.5, 1001]) expect(() => s.setTimesteps(bad), `${s.className} ${bad}`).toThrow(/steps must be an integer in \[1, 1000\]/);
    }
    // LCM/TCD also cap at original_inference_steps (50), as diffusers does.
    expect(() => new LcmScheduler(SD).setTimesteps(51)).toThrow(/original_inference_steps 50/);
  });

  it("rejects Q-Sched arrays of the wrong length and non-finite coefficients", () => {
    for (const s of all()) {
      s.setQSched({ scheme: "explicit", modelCoeff: [1, 1, 1], sampleCoeff: [1, 1, 1] });
      expect(() => s.setTimesteps(4)).toThrow(/3 entries but the schedule has 4 steps/);
      expect(() => s.setQSched({ scheme: "explicit", modelCoeff: [1, 1], sampleCoeff: [1] })).toThrow(/same non-zero length/);
      expect(() => s.setQSched({ scheme: "explicit", modelCoeff: [1, NaN], sampleCoeff: [1, 1] })).toThrow(/modelCoeff\[1\] must be a finite number/);
      expect(() => s.setQSched({ scheme: "linear", m: Infinity, s: 1 })).toThrow(/m\[0\] must be a finite number/);
    }
  });

  it("names the key of an unknown or unsupported config entry instead of defaulting", () => {
    expect(() => createScheduler({ _class_name: "EulerDiscreteScheduler", use_exponential_sigmas: true })).toThrow(/unknown key "use_exponential_sigmas"/);
    expect(() => createScheduler({ _class_name: "EulerDiscreteScheduler", use_karras_sigmas: true })).toThrow(/"use_karras_sigmas" = true is not supported/);
    expect(() => createScheduler({ _class_name: "FlowMatchEulerDiscreteScheduler", use_dynamic_shifting: true })).toThrow(/"use_dynamic_shifting"/);
    expect(() => createScheduler({ _class_name: "LCMScheduler", thresholding: true })).toThrow(/"thresholding"/);
    expect(() => createScheduler({ _class_name: "LCMScheduler", rescale_betas_zero_snr: true })).toThrow(/"rescale_betas_zero_snr"/);
    expect(() => createScheduler({ _class_name: "EulerDiscreteScheduler", timestep_spacing: "weird" })).toThrow(/"timestep_spacing" must be one of/);
    expect(() => createScheduler({ _class_name: "EulerDiscreteScheduler", num_train_timesteps: 0 })).toThrow(/"num_train_timesteps" must be ≥ 1/);
    expect(() => createScheduler({ _class_name: "DDIMScheduler" })).toThrow(/unsupported scheduler class "DDIMScheduler"/);
    expect(() => createScheduler({ beta_start: 0.001 })).toThrow(/no "_class_name"/);
  });

  it("accepts the Hub configs' metadata and sibling-scheduler keys that diffusers v0.30.3 ignores for the class", () => {
    // stabilityai/sdxl-turbo's EulerAncestral config carries Euler/DDIM keys.
    const s = createScheduler({
      _class_name: "EulerAncestralDiscreteScheduler", _diffusers_version: "0.24.0.dev0", ...SD, clip_sample: false,
      interpolation_type: "linear", num_train_timesteps: 1000, prediction_type: "epsilon", sample_max_value: 1.0,
      set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, timestep_spacing: "trailing", trained_betas: null,
      use_karras_sigmas: false,
    });
    expect(s.className).toBe("EulerAncestralDiscreteScheduler");
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 749, 499, 249]);
  });

  it("rejects mismatched tensors, unknown timesteps, stepping past the end, and noise steps without a generator", () => {
    const s = new LcmScheduler(SD);
    const x = new Float32Array(16);
    expect(() => s.step(x, 999, x)).toThrow(/call setTimesteps/);
    s.setTimesteps(2);
    expect(() => s.step(new Float32Array(8), 999, x)).toThrow(/modelOutput has 8 values, sample has 16/);
    expect(() => s.step(x, 123, x)).toThrow(/timestep 123 is not in the schedule/);
    expect(() => s.step(x, 999, x)).toThrow(/pass a generator/);
    const e = new EulerDiscreteScheduler(SD);
    e.setTimesteps(1);
    e.step(x, e.timesteps[0]!, x);
    expect(() => e.step(x, e.timesteps[0]!, x)).toThrow(/all 1 steps were already taken/);
    const t = new TcdScheduler(SD);
    t.setTimesteps(2);
    expect(() => t.step(x, t.timesteps[0]!, x, { eta: 1.5, generator: new TorchGenerator(0) })).toThrow(/eta must be in \[0, 1\]/);
  });
});

describe("timestep spacings (diffusers values)", () => {
  const euler = (spacing: string, steps: number) => {
    const s = createScheduler({ _class_name: "EulerDiscreteScheduler", ...SD, steps_offset: 1, timestep_spacing: spacing });
    s.setTimesteps(steps);
    return s.timesteps;
  };
  it("leading adds steps_offset, trailing ends at N/steps − 1, linspace spans [0, N − 1]", () => {
    expect(euler("leading", 4)).toEqual([751, 501, 251, 1]);
    expect(euler("trailing", 4)).toEqual([999, 749, 499, 249]);
    expect(euler("trailing", 3)).toEqual([999, 666, 332]);
    expect(euler("linspace", 4)).toEqual([999, 666, 333, 0]);
    expect(euler("linspace", 3)).toEqual([999, 499.5, 0]);
  });
  it("trailing at 61 steps runs diffusers' 62 timesteps (the last is -1) but refuses Q-Sched, sized per requested step", () => {
    for (const cls of ["EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler"]) {
      const s = createScheduler({ _class_name: cls, ...SD, steps_offset: 1, timestep_spacing: "trailing" });
      s.setTimesteps(61);
      expect(s.timesteps).toHaveLength(62);
      expect(s.timesteps.at(-1)).toBe(-1);
      expect(s.numInferenceSteps).toBe(61); // diffusers' num_inference_steps
      const refused = /"trailing" gives 62 timesteps for 61 steps .* use 60 or 62 steps, or another timestep_spacing/;
      expect(() => s.setQSched({ scheme: "linear", m: 0.9, s: 0.9 })).toThrow(refused);
      expect(s.modelCoeff).toHaveLength(62); // the refused spec left the plain coefficients in place
      const q = createScheduler({ _class_name: cls, ...SD, steps_offset: 1, timestep_spacing: "trailing" }, { qsched: { scheme: "linear", m: 0.9, s: 0.9 } });
      expect(() => q.setTimesteps(61)).toThrow(refused);
      q.setTimesteps(62);
      expect(q.modelCoeff).toHaveLength(62);
    }
  });
  it("LCM takes 4 steps from the 50-step skipping grid", () => {
    const s = new LcmScheduler(SD);
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 759, 499, 259]);
  });
  it("leading spacing scales the initial noise by (σ_max² + 1)^½", () => {
    const lead = createScheduler({ _class_name: "EulerDiscreteScheduler", ...SD, timestep_spacing: "leading" });
    lead.setTimesteps(4);
    const maxSigma = Math.max(...lead.sigmas!);
    expect(lead.initNoiseSigma).toBeCloseTo(Math.sqrt(maxSigma * maxSigma + 1), 5);
  });
});

/**
 * Reading a diffusers `scheduler_config.json` strictly. Each class declares every key of its diffusers v0.30.3
 * constructor: keys the math reads are validated (a value we do not implement is an error naming the key), keys
 * that cannot change the math are listed as inert with the reason. Keys that belong to other diffusers schedulers
 * (Hub configs carry them, and v0.30.3 ignores them for this class) are accepted and ignored; keys starting with "_"
 * are metadata. Any other key is an error: it may come from a newer diffusers that gives it meaning.
 */

export type KeySpec =
  | { type: "number"; default: number; integer?: boolean; min?: number; exclusiveMin?: boolean }
  | { type: "enum"; values: readonly string[]; default: string }
  | { type: "boolean"; default: boolean }
  /** Accepted only at this value: any other value changes the math in a way we do not implement. */
  | { type: "only"; value: unknown; default: unknown; why: string }
  | { type: "betas" }
  /** Read by diffusers but without effect on set_timesteps/step for this class; any value is accepted. */
  | { type: "inert"; default: unknown; why: string };

export type ClassKeySpecs = Record<string, KeySpec>;

/** Keys of the other diffusers schedulers (and common pipelines' configs) that v0.30.3 ignores for a class lacking them. */
const SIBLING_SCHEDULER_KEYS = new Set([
  "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
  "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset", "thresholding", "dynamic_thresholding_ratio",
  "sample_max_value", "timestep_spacing", "timestep_scaling", "original_inference_steps", "rescale_betas_zero_snr",
  "interpolation_type", "use_karras_sigmas", "sigma_min", "sigma_max", "timestep_type", "final_sigmas_type",
  "skip_prk_steps", "variance_type", "solver_order", "algorithm_type", "solver_type", "lower_order_final",
  "shift", "use_dynamic_shifting", "base_shift", "max_shift", "base_image_seq_len", "max_image_seq_len",
  // The rest of the 0.30.3 schedulers' constructor keys (DPM-Solver, UniPC, DEIS, SASolver, EDM, consistency,
  // VQ-Diffusion, amused, ...): written by those classes into configs a user swaps from, and ignored by ours as by diffusers.
  "alpha_cum_end", "alpha_cum_start", "clip_denoised", "correct_steps", "corrector_order", "disable_corrector", "eta",
  "euler_at_final", "gamma_cum_end", "gamma_cum_start", "lambda_min_clipped", "mask_token_id", "masking_schedule",
  "noise_sampler_seed", "num_vec_classes", "predict_x0", "predictor_order", "rho", "s", "s_noise", "sampling_eps", "scaler",
  "sigma_data", "sigma_schedule", "snr", "snr_shift_scale", "solver_p", "tau_func", "use_lu_lambdas",
]);

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function checkValue(cls: string, key: string, spec: KeySpec, value: unknown): unknown {
  const fail = (expected: string) => {
    throw new Error(`${cls} config: "${key}" must be ${expected}, found ${describe(value)}`);
  };
  switch (spec.type) {
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) fail("a finite number");
      const v = value as number;
      if (spec.integer && !Number.isInteger(v)) fail("an integer");
      if (spec.min !== undefined && (spec.exclusiveMin ? v <= spec.min : v < spec.min)) {
        fail(`${spec.exclusiveMin ? ">" : "≥"} ${spec.min}`);
      }
      return v;
    }
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) fail(`one of ${spec.values.map((s) => `"${s}"`).join(", ")}`);
      return value;
    case "boolean":
      if (typeof value !== "boolean") fail("true or false");
      return value;
    case "only":
      if (describe(value) !== describe(spec.value)) {
        throw new Error(`${cls} config: "${key}" = ${describe(value)} is not supported (${spec.why}); only ${describe(spec.value)} is`);
      }
      return value;
    case "betas":
      if (value === null) return null;
      if (!Array.isArray(value) || value.some((x) => typeof x !== "number" || !Number.isFinite(x))) fail("null or an array of finite numbers");
      return value;
    case "inert":
      return value;
  }
}

/**
 * Resolves `raw` against a class's key specs: defaults filled in for missing keys, values validated, unknown keys
 * rejected. `_class_name`, when present, must name `cls`.
 */
export function resolveConfig(cls: string, specs: ClassKeySpecs, raw: Record<string, unknown>): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${cls} config: expected a JSON object`);
  if ("_class_name" in raw && raw._class_name !== cls) {
    throw new Error(`${cls} config: _class_name is ${describe(raw._class_name)}, expected "${cls}"`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const present = key in raw && raw[key] !== undefined;
    if (spec.type === "betas") out[key] = present ? checkValue(cls, key, spec, raw[key]) : null;
    else out[key] = present ? checkValue(cls, key, spec, raw[key]) : spec.default;
  }
  for (const key of Object.keys(raw)) {
    if (key in specs || key.startsWith("_") || SIBLING_SCHEDULER_KEYS.has(key)) continue;
    throw new Error(
      `${cls} config: unknown key "${key}" (not a diffusers v0.30.3 scheduler option; it may change the math in the version that wrote it, so it is not ignored)`,
    );
  }
  return out;
}

/** The beta-schedule keys shared by the DDPM-family classes (diffusers defaults of the class passed in). */
export function betaKeys(defaults: { beta_start: number; beta_end: number; beta_schedule: string }): ClassKeySpecs {
  return {
    num_train_timesteps: { type: "number", default: 1000, integer: true, min: 1 },
    beta_start: { type: "number", default: defaults.beta_start, min: 0 },
    beta_end: { type: "number", default: defaults.beta_end, min: 0 },
    beta_schedule: { type: "enum", values: ["linear", "scaled_linear", "squaredcos_cap_v2"], default: defaults.beta_schedule },
    trained_betas: { type: "betas" },
    rescale_betas_zero_snr: { type: "only", value: false, default: false, why: "zero-terminal-SNR rescaling is not implemented" },
  };
}

import { f32, sqrtF32 } from "./float32.ts";
import { torchLinspaceF32 } from "./torch-linspace.ts";

/** The beta schedules diffusers' DDPM-family schedulers accept (`beta_schedule`), or explicit `trained_betas`. */
export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2";

export interface BetaScheduleConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
}

/** The float32 tables a discrete-time scheduler is built on (what torch holds in `betas`, `alphas_cumprod`). */
export interface NoiseTables {
  betas: Float32Array;
  alphasCumprod: Float32Array;
}

/** Largest beta of the squaredcos_cap_v2 schedule (diffusers' `max_beta`). */
const MAX_BETA_COSINE = 0.999;

/** diffusers `betas_for_alpha_bar(n)` with the cosine transform, in float64, then rounded to float32. */
function cosineBetas(n: number): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), MAX_BETA_COSINE);
  return out;
}

/** `betas` exactly as diffusers builds them in float32 from the config. */
export function computeBetas(config: BetaScheduleConfig): Float32Array {
  const n = config.num_train_timesteps;
  if (config.trained_betas !== null) {
    if (config.trained_betas.length !== n) {
      throw new Error(`trained_betas: expected ${n} values (num_train_timesteps), found ${config.trained_betas.length}`);
    }
    return Float32Array.from(config.trained_betas);
  }
  switch (config.beta_schedule) {
    case "linear":
      return torchLinspaceF32(config.beta_start, config.beta_end, n);
    case "scaled_linear": {
      // Python takes the square roots in float64; the kernel rounds them to float32; the square is a float32 product.
      const roots = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n);
      return roots.map((r) => f32(r * r));
    }
    case "squaredcos_cap_v2":
      return cosineBetas(n);
  }
}

/**
 * alphas = 1 − betas (float32) and alphas_cumprod = torch.cumprod(alphas) on the CPU, which accumulates the running
 * product in float64 and rounds each output to float32 (a float32 running product drifts by up to 3.6e-7).
 */
export function computeNoiseTables(config: BetaScheduleConfig): NoiseTables {
  const betas = computeBetas(config);
  const alphasCumprod = new Float32Array(betas.length);
  let running = 1;
  for (let i = 0; i < betas.length; i++) {
    running *= f32(1 - betas[i]!);
    alphasCumprod[i] = running;
  }
  return { betas, alphasCumprod };
}

/** sigma_i = ((1 − ᾱ_i)/ᾱ_i)^½ as the torch float32 expression in the Euler schedulers (three rounded ops). */
export function sigmasFromAlphasCumprod(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => sqrtF32(f32(f32(1 - a) / a)));
}

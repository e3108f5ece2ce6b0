import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createScheduler, fluxPipelineSigmas, randnTensor, TorchGenerator } from "../../scheduler/index.ts";
import type { AnyScheduler, QSchedSpec, SchedulerClassName } from "../../scheduler/index.ts";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";

/**
 * Fixture kind "schedulers": diffusers scheduler traces with Q-Sched coefficients (see the fixture README).
 * Each manifest case names a safetensors trace; its metadata holds the scheduler config. The verifier rebuilds the
 * schedule, redraws latents and model outputs from the seeds, runs every step on its own chained latents and
 * compares timesteps, sigmas, coefficients and every per-step tensor. Noise and RNG draws must match bit for bit.
 */

/**
 * The tightest bound our schedulers meet on the reference oracle: all 120 cases reproduce every timestep, sigma and
 * per-step tensor bit for bit (error 0), so by default any difference fails. Pass `tol` to accept rounding noise.
 */
export const SCHEDULERS_DEFAULT_TOL = 0;

interface SchedulerCase {
  file: string;
  family: string;
  steps: number;
  shape: number[];
  latents_seed: number;
  model_output_seed: number;
  coeff: string;
  model_coeff: number[];
  sample_coeff: number[];
  noise_drawn: boolean[];
}

/** Families the reference generator uses, by the class they run (a folder may add configs/<family>.json instead). */
const FAMILY_CLASS: Record<string, SchedulerClassName> = {
  lcm: "LCMScheduler",
  tcd: "TCDScheduler",
  euler_sdturbo: "EulerDiscreteScheduler",
  euler_a_sdxlturbo: "EulerAncestralDiscreteScheduler",
  flux: "FlowMatchEulerDiscreteScheduler",
};

function classFor(folder: string, family: string): SchedulerClassName {
  const configPath = join(folder, "configs", `${family}.json`);
  if (existsSync(configPath)) {
    const cls = (JSON.parse(readFileSync(configPath, "utf8")) as { class?: string }).class;
    if (typeof cls === "string") return cls as SchedulerClassName;
  }
  const cls = FAMILY_CLASS[family];
  if (!cls) throw new Error(`unknown scheduler family "${family}" and no configs/${family}.json with a "class"`);
  return cls;
}

/** The Q-Sched rule a case names: "m<m>_s<s>" is linspace(m, 1, steps)/linspace(s, 1, steps), "explicit" the arrays. */
function qschedFor(c: SchedulerCase): QSchedSpec {
  const linear = /^m([-0-9.e]+)_s([-0-9.e]+)$/.exec(c.coeff);
  if (linear) return { scheme: "linear", m: Number(linear[1]), s: Number(linear[2]) };
  if (c.coeff === "explicit") return { scheme: "explicit", modelCoeff: c.model_coeff, sampleCoeff: c.sample_coeff };
  throw new Error(`coefficient set "${c.coeff}" is neither m<m>_s<s> nor explicit`);
}

/** Collects comparisons of one case: exact ones fail on any difference, float ones contribute their error. */
class CaseCheck {
  error = 0;
  worst = "";
  compared = 0;
  failures: string[] = [];
  constructor(private readonly tol: number) {}
  exact(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
    this.compared++;
    const same = got.length === want.length && Array.prototype.every.call(want, (w: number, i: number) => Object.is(w, got[i]));
    if (!same) this.failures.push(`${name} differs (exact expected)`);
  }
  close(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
    this.compared++;
    const err = relativeMaxError(got, want);
    if (this.worst === "" || err > this.error) {
      this.error = err;
      this.worst = name;
    }
    if (!(err <= this.tol)) this.failures.push(`${name} err=${err.toExponential(2)} > tol ${this.tol}`);
  }
}

function runCase(folder: string, c: SchedulerCase, tol: number): CaseResult {
  const name = c.file.replace(/\.safetensors$/, "");
  const check = new CaseCheck(tol);
  const t: LoadedSafetensors = readSafetensorsFileSync(join(folder, c.file));
  const meta = t.metadata;
  const config = JSON.parse(meta.config ?? "{}") as Record<string, unknown>;
  const scheduler: AnyScheduler = createScheduler(config, { className: classFor(folder, c.family), qsched: qschedFor(c) });
  if (scheduler.className === "FlowMatchEulerDiscreteScheduler" && meta.flux_mode === "pipeline") {
    scheduler.setTimesteps(c.steps, { sigmas: fluxPipelineSigmas(c.steps) });
  } else {
    scheduler.setTimesteps(c.steps);
  }
  const eta = meta.eta && meta.eta !== "null" ? Number(meta.eta) : undefined;

  check.close("timesteps", scheduler.timesteps, t.typed("timesteps") as ArrayLike<number>);
  if (t.entries.has("sigmas")) check.close("sigmas", scheduler.sigmas ?? [], t.f32("sigmas"));
  check.exact("model_coeff", scheduler.modelCoeff, t.f32("model_coeff"));
  check.exact("sample_coeff", scheduler.sampleCoeff, t.f32("sample_coeff"));
  check.exact("model_coeff (manifest)", scheduler.modelCoeff, Float32Array.from(c.model_coeff));
  check.exact("sample_coeff (manifest)", scheduler.sampleCoeff, Float32Array.from(c.sample_coeff));
  const hasInitSigma = meta.has_init_noise_sigma !== "false";
  const initSigma = hasInitSigma ? scheduler.initNoiseSigma : 1;
  check.close("init_noise_sigma", [initSigma], t.f32("init_noise_sigma"));

  const generator = new TorchGenerator(c.latents_seed);
  const latentsNoise = randnTensor(c.shape, generator);
  check.exact("latents_noise", latentsNoise, t.f32("latents_noise"));
  let sample: Float32Array = latentsNoise.map((v) => Math.fround(v * initSigma));
  check.close("latents_init", sample, t.f32("latents_init"));

  const modelGenerator = new TorchGenerator(c.model_output_seed);
  for (let i = 0; i < c.steps; i++) {
    const p = `step${i}/`;
    const timestep = t.f32(`${p}timestep`)[0]!;
    // The stored step's timestep is what diffusers passed to step(): it must be ours at index i, not just any value
    // of the schedule (step() would accept another one and go on from there).
    check.close(`${p}timestep`, [scheduler.timesteps[i] ?? Number.NaN], [timestep]);
    const modelOutput = modelGenerator.randn(c.shape);
    check.exact(`${p}model_output`, modelOutput, t.f32(`${p}model_output`));
    check.close(`${p}sample`, sample, t.f32(`${p}sample`));
    if (t.entries.has(`${p}scaled_model_input`)) {
      check.close(`${p}scaled_model_input`, scheduler.scaleModelInput(sample, timestep), t.f32(`${p}scaled_model_input`));
    }
    const out = scheduler.step(modelOutput, timestep, sample, { generator, shape: c.shape, eta });
    const drew = out.noise !== undefined;
    if (drew !== c.noise_drawn[i]) check.failures.push(`${p} noise drawn: ${drew}, reference: ${c.noise_drawn[i]}`);
    if (out.noise && t.entries.has(`${p}noise`)) check.exact(`${p}noise`, out.noise, t.f32(`${p}noise`));
    check.close(`${p}prev_sample`, out.prevSample, t.f32(`${p}prev_sample`));
    if (t.entries.has(`${p}denoised`)) {
      if (!out.denoised) check.failures.push(`${p}denoised missing`);
      else check.close(`${p}denoised`, out.denoised, t.f32(`${p}denoised`));
    }
    sample = out.prevSample;
  }
  const ok = check.failures.length === 0;
  const detail = !ok
    ? check.failures.slice(0, 3).join("; ")
    : check.error === 0 ? `${check.compared} tensors bit-exact` : `${check.compared} tensors, worst: ${check.worst}`;
  return { name, ok, error: check.error, detail };
}

const schedulers: VerifyKind = {
  kind: "schedulers",
  defaultTol: SCHEDULERS_DEFAULT_TOL,
  needsGpu: false,
  async run(folder: string, manifest: Manifest, opts: VerifyOptions): Promise<CaseResult[]> {
    const cases = manifest.cases;
    if (!Array.isArray(cases)) throw new Error(`schedulers: ${folder}/manifest.json has no "cases" array`);
    const tol = opts.tol ?? SCHEDULERS_DEFAULT_TOL;
    return (cases as SchedulerCase[]).map((c) => {
      try {
        return runCase(folder, c, tol);
      } catch (e) {
        return { name: String(c.file), ok: false, detail: `error: ${(e as Error).message}` };
      }
    });
  },
};

export default schedulers;

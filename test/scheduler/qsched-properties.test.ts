import { describe, expect, it } from "vitest";
import {
  createScheduler, fluxPipelineSigmas, TorchGenerator, type AnyScheduler, type QSchedSpec, type SchedulerClassName,
} from "../../src/scheduler/index.ts";

/** Configs of the five model families (the golden fixtures' resolved configs). */
const SCALED = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" };
const CONFIGS: Record<SchedulerClassName, Record<string, unknown>> = {
  LCMScheduler: { _class_name: "LCMScheduler", ...SCALED },
  TCDScheduler: { _class_name: "TCDScheduler", ...SCALED, timestep_spacing: "trailing" },
  EulerDiscreteScheduler: { _class_name: "EulerDiscreteScheduler", ...SCALED, steps_offset: 1, timestep_spacing: "trailing" },
  EulerAncestralDiscreteScheduler: { _class_name: "EulerAncestralDiscreteScheduler", ...SCALED, steps_offset: 1, timestep_spacing: "trailing" },
  FlowMatchEulerDiscreteScheduler: { _class_name: "FlowMatchEulerDiscreteScheduler", shift: 1.0 },
};
const SHAPE = [1, 4, 5, 7];

/** Runs a full schedule from seeded latents and model outputs; returns every step's outputs. */
function run(scheduler: AnyScheduler, steps: number): Float32Array[] {
  if (scheduler.className === "FlowMatchEulerDiscreteScheduler") scheduler.setTimesteps(steps, { sigmas: fluxPipelineSigmas(steps) });
  else scheduler.setTimesteps(steps);
  const generator = new TorchGenerator(42);
  const models = new TorchGenerator(1000);
  let sample: Float32Array = generator.randn(SHAPE).map((v) => Math.fround(v * scheduler.initNoiseSigma));
  const outs: Float32Array[] = [];
  for (const t of scheduler.timesteps) {
    scheduler.scaleModelInput(sample, t);
    const out = scheduler.step(models.randn(SHAPE), t, sample, { generator, shape: SHAPE });
    outs.push(out.prevSample, ...(out.denoised ? [out.denoised] : []));
    sample = out.prevSample;
  }
  return outs;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe("Q-Sched properties", () => {
  for (const cls of Object.keys(CONFIGS) as SchedulerClassName[]) {
    it(`${cls}: m = s = 1 (linear and explicit) is bit-identical to the plain scheduler`, () => {
      for (const steps of [1, 3, 4]) {
        const plain = run(createScheduler(CONFIGS[cls]), steps).map(bits);
        const ones: QSchedSpec[] = [
          { scheme: "linear", m: 1, s: 1 },
          { scheme: "explicit", modelCoeff: Array(steps).fill(1), sampleCoeff: Array(steps).fill(1) },
        ];
        for (const qsched of ones) expect(run(createScheduler(CONFIGS[cls], { qsched }), steps).map(bits)).toEqual(plain);
      }
    });

    it(`${cls}: coefficient arrays have one entry per step; steps = 1 uses m and s themselves`, () => {
      const s = createScheduler(CONFIGS[cls], { qsched: { scheme: "linear", m: 0.9, s: 1.1 } });
      for (const steps of [1, 2, 5, 8]) {
        s.setTimesteps(steps);
        expect(s.timesteps.length).toBe(steps);
        expect(s.modelCoeff.length).toBe(steps);
        expect(s.sampleCoeff.length).toBe(steps);
        expect(s.modelCoeff[0]).toBe(Math.fround(0.9));
        expect(s.sampleCoeff[0]).toBe(Math.fround(1.1));
        expect(s.modelCoeff[steps - 1]).toBe(steps === 1 ? Math.fround(0.9) : 1);
      }
    });

    it(`${cls}: Q-Sched changes the result when m, s ≠ 1`, () => {
      const plain = run(createScheduler(CONFIGS[cls]), 2).map(bits);
      const scaled = run(createScheduler(CONFIGS[cls], { qsched: { scheme: "linear", m: 0.95, s: 1.01 } }), 2).map(bits);
      expect(scaled[0]).not.toEqual(plain[0]);
    });

    it(`${cls}: StepCoefficients reproduce the CPU step when applied at once`, () => {
      // A fused kernel computes a·x + b·e + c·n in one go instead of torch's sequence of float32 ops, so it differs
      // by float32 rounding: a few ulp of the largest operand (σ up to 14.6 for Euler) — 2e-5 relative is ample.
      const FUSED_TOL = 2e-5;
      const steps = 4;
      const qsched: QSchedSpec = { scheme: "linear", m: 0.95, s: 1.02 };
      const scheduler = createScheduler(CONFIGS[cls], { qsched });
      if (scheduler.className === "FlowMatchEulerDiscreteScheduler") scheduler.setTimesteps(steps, { sigmas: fluxPipelineSigmas(steps) });
      else scheduler.setTimesteps(steps);
      const coeffs = scheduler.stepCoefficients({ eta: 0.3 });
      expect(coeffs.length).toBe(steps);
      const models = new TorchGenerator(7);
      let sample: Float32Array = new TorchGenerator(3).randn(SHAPE).map((v) => Math.fround(v * scheduler.initNoiseSigma));
      for (const k of coeffs) {
        const e = models.randn(SHAPE);
        const noise = new TorchGenerator(100 + k.stepIndex).randn(SHAPE);
        const out = scheduler.step(e, k.timestep, sample, { noise, eta: 0.3 });
        expect(out.noise !== undefined).toBe(k.drawsNoise);
        const scale = Math.max(1, ...Array.from(out.prevSample, Math.abs));
        let worst = 0;
        out.prevSample.forEach((p, j) => {
          const fused = k.prevSample.sample * sample[j]! + k.prevSample.modelOutput * e[j]! + k.prevSample.noise * noise[j]!;
          worst = Math.max(worst, Math.abs(fused - p) / scale);
        });
        expect(worst).toBeLessThan(FUSED_TOL);
        if (out.denoised) {
          const d = k.denoised!;
          out.denoised.forEach((p, j) => {
            expect(Math.abs(d.sample * sample[j]! + d.modelOutput * e[j]! - p) / scale).toBeLessThan(FUSED_TOL);
          });
        } else expect(k.denoised).toBeNull();
        sample = out.prevSample;
      }
    });
  }
});

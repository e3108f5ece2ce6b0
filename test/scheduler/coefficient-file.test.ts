import { describe, expect, it } from "vitest";
import { createScheduler, parseCoefficientFile, serializeCoefficientFile, type CoefficientFile } from "../../src/scheduler/index.ts";

const LINEAR: CoefficientFile = {
  model: "stabilityai/sdxl-turbo",
  steps: 4,
  qsched: { scheme: "linear", m: 0.955, s: 1.012 },
  calibration: { metric: "clip_iqa", score: 0.71 },
  date: "2026-11-25T00:00:00Z",
};

describe("Q-Sched coefficient files", () => {
  it("round-trips linear and explicit files", () => {
    expect(parseCoefficientFile(serializeCoefficientFile(LINEAR))).toEqual(LINEAR);
    const explicit: CoefficientFile = {
      model: "black-forest-labs/FLUX.1-schnell",
      steps: 2,
      qsched: { scheme: "explicit", modelCoeff: [1.05, 0.97], sampleCoeff: [0.98, 1.01] },
    };
    expect(parseCoefficientFile(serializeCoefficientFile(explicit))).toEqual(explicit);
  });

  it("records the quantization scheme calibrated for (normalized to upper case, or none)", () => {
    const withQuant = { ...LINEAR, quant: "W4A8" };
    expect(parseCoefficientFile(serializeCoefficientFile(withQuant))).toEqual(withQuant);
    const json = JSON.parse(serializeCoefficientFile(LINEAR));
    expect(parseCoefficientFile({ ...json, quant: "w8a8" }).quant).toBe("W8A8");
    expect(parseCoefficientFile({ ...json, quant: "NONE" }).quant).toBe("none");
    expect(() => parseCoefficientFile({ ...json, quant: "int3" })).toThrow(/"quant" must be one of none, W8A8, W4A8, W8A16, W4A16, found "int3"/);
  });

  it("records the quantization policy calibrated for", () => {
    const withPolicy: CoefficientFile = { ...LINEAR, quant: "W4A8", policy: "all" };
    expect(parseCoefficientFile(serializeCoefficientFile(withPolicy))).toEqual(withPolicy);
    const json = JSON.parse(serializeCoefficientFile(LINEAR));
    expect(() => parseCoefficientFile({ ...json, policy: "convs" })).toThrow(/"policy" must be "torchao" or "all", found "convs"/);
  });

  it("feeds a scheduler: linear files expand to linspace(m, 1, steps)", () => {
    const file = parseCoefficientFile(serializeCoefficientFile(LINEAR));
    const s = createScheduler({ _class_name: "LCMScheduler" }, { qsched: file.qsched });
    s.setTimesteps(file.steps);
    expect(Array.from(s.modelCoeff)).toEqual([0.9549999833106995, 0.9699999690055847, 0.9850000143051147, 1]);
  });

  it("rejects wrong lengths, non-finite values and malformed fields with the field named", () => {
    const base = { format: "qsched-coefficients", version: 1, model: "m", steps: 3, scheme: "explicit" };
    const bad: [unknown, RegExp][] = [
      [{ ...base, model_coeff: [1, 1], sample_coeff: [1, 1, 1] }, /"model_coeff" has 2 entries, expected 3/],
      [{ ...base, model_coeff: [1, 1, 1], sample_coeff: [1, null, 1] }, /"sample_coeff"\[1\] must be a finite number/],
      [{ ...base, scheme: "linear", m: "0.9", s: 1 }, /"m" must be a finite number/],
      [{ ...base, scheme: "cubic" }, /"scheme" must be "linear" or "explicit"/],
      [{ ...base, steps: 0 }, /"steps" must be an integer ≥ 1/],
      [{ ...base, format: "other" }, /"format" must be "qsched-coefficients"/],
      [{ ...base, scheme: "linear", m: 1, s: 1, date: "yesterday" }, /"date" must be an ISO 8601/],
      ["{not json", /not valid JSON/],
    ];
    for (const [input, msg] of bad) expect(() => parseCoefficientFile(typeof input === "string" ? input : JSON.stringify(input))).toThrow(msg);
    // NaN cannot be written as JSON; a parsed object carrying it is rejected too.
    expect(() => parseCoefficientFile({ ...base, scheme: "linear", m: NaN, s: 1 })).toThrow(/"m" must be a finite number/);
    expect(() => serializeCoefficientFile({ ...LINEAR, qsched: { scheme: "explicit", modelCoeff: [1], sampleCoeff: [1] } })).toThrow(/1 entries but the schedule has 4 steps/);
  });
});

import { torchLinspaceF32 } from "./torch-linspace.ts";

/**
 * Q-Sched (Frumkin & Marculescu 2025) coefficients: per step i, the scheduler multiplies the model output by
 * model_coeff[i] and the sample by sample_coeff[i] before its update. The paper's scripts build them as
 * `torch.linspace(m, 1, steps)` and `torch.linspace(s, 1, steps)` (float32), so steps = 1 uses m and s themselves.
 */
export type QSchedSpec =
  | { scheme: "linear"; m: number; s: number }
  | { scheme: "explicit"; modelCoeff: readonly number[]; sampleCoeff: readonly number[] };

export interface QSchedCoefficients {
  modelCoeff: Float32Array;
  sampleCoeff: Float32Array;
}

function requireFinite(what: string, values: readonly number[]): void {
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`Q-Sched: ${what}[${i}] must be a finite number, found ${String(v)}`);
    }
  });
}

/** Checks a spec on its own (finite values, equal explicit lengths, at least one step). */
export function validateQSchedSpec(spec: QSchedSpec): void {
  if (spec.scheme === "linear") {
    requireFinite("m", [spec.m]);
    requireFinite("s", [spec.s]);
    return;
  }
  if (spec.scheme !== "explicit") {
    const hint = (spec as { scheme?: unknown }).scheme === undefined && "m" in spec ? ` (the pipeline's { m, s } is { scheme: "linear", m, s } here)` : "";
    throw new Error(`Q-Sched: scheme must be "linear" or "explicit", found ${String((spec as { scheme: unknown }).scheme)}${hint}`);
  }
  requireFinite("modelCoeff", spec.modelCoeff);
  requireFinite("sampleCoeff", spec.sampleCoeff);
  if (spec.modelCoeff.length !== spec.sampleCoeff.length || spec.modelCoeff.length === 0) {
    throw new Error(
      `Q-Sched: modelCoeff and sampleCoeff must have the same non-zero length, found ${spec.modelCoeff.length} and ${spec.sampleCoeff.length}`,
    );
  }
}

/** The float32 per-step arrays for `steps` steps (throws when explicit arrays have another length). */
export function resolveQSched(spec: QSchedSpec | null, steps: number): QSchedCoefficients {
  if (spec === null) return { modelCoeff: new Float32Array(steps).fill(1), sampleCoeff: new Float32Array(steps).fill(1) };
  validateQSchedSpec(spec);
  if (spec.scheme === "linear") {
    return { modelCoeff: torchLinspaceF32(spec.m, 1, steps), sampleCoeff: torchLinspaceF32(spec.s, 1, steps) };
  }
  if (spec.modelCoeff.length !== steps) {
    throw new Error(`Q-Sched: explicit coefficients have ${spec.modelCoeff.length} entries but the schedule has ${steps} steps`);
  }
  return { modelCoeff: Float32Array.from(spec.modelCoeff), sampleCoeff: Float32Array.from(spec.sampleCoeff) };
}

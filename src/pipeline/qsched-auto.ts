/**
 * `qsched: "auto"`: the model folder's own coefficient file (`qsched.json` at its root, written by
 * `weights-tools pack-pipeline --qsched` or by hand from `qsched-gpu calibrate`), used only when it
 * records the quantization scheme the pipeline loaded; otherwise (m, s) = (1, 1) with a warning.
 */
import { COEFFICIENT_FILE } from "../quant/packed-pipeline.ts";
import { parseCoefficientFile, type CoefficientFile } from "../scheduler/coefficient-file.ts";
import type { QSchedSpec } from "../scheduler/qsched.ts";
import type { WeightSource } from "../weights/sources/types.ts";
import type { QuantScheme } from "./types.ts";

/** Where the Q-Sched coefficients a pipeline uses came from. */
export type QSchedSource =
  /** No Q-Sched: the plain scheduler. */
  | { kind: "none" }
  /** Given by the caller (m, s, arrays or a coefficient file's JSON). */
  | { kind: "option" }
  /** `"auto"` found the model's coefficient file for the loaded scheme. */
  | { kind: "file"; location: string; quant: string; steps: number }
  /** `"auto"` found nothing usable and fell back to (m, s) = (1, 1); `reason` says why. */
  | { kind: "fallback"; reason: string };

/** The folder's coefficient file as found at load (parsed lazily: a broken file matters only to "auto"). */
export interface FoundCoefficients {
  location: string;
  text: string;
}

export async function findCoefficientFile(src: WeightSource): Promise<FoundCoefficients | null> {
  if (!(await src.exists(COEFFICIENT_FILE))) return null;
  return { location: src.locate(COEFFICIENT_FILE), text: await src.readText(COEFFICIENT_FILE) };
}

/** What "auto" means for a pipeline that loaded `quant`, given the file found at load (or null). */
export function resolveAutoQSched(found: FoundCoefficients | null, quant: QuantScheme, policy: "torchao" | "all" | null = null): { spec: QSchedSpec | null; source: QSchedSource } {
  const fallback = (reason: string) => ({ spec: null, source: { kind: "fallback", reason } as const });
  if (!found) return fallback(`found no coefficient file (${COEFFICIENT_FILE}) with this model`);
  let file: CoefficientFile;
  try {
    file = parseCoefficientFile(found.text);
  } catch (e) {
    return fallback(`could not use ${found.location}: ${(e as Error).message}`);
  }
  const loaded = quant === "none" ? "none" : quant.toUpperCase();
  if (file.quant === undefined) return fallback(`${found.location} does not record which quantization it was calibrated for (no "quant")`);
  if (file.quant !== loaded) return fallback(`${found.location} was calibrated for ${file.quant}, but the pipeline loaded ${loaded}`);
  // Files written before the policy was recorded match either policy.
  if (file.policy !== undefined && policy !== null && file.policy !== policy) {
    return fallback(`${found.location} was calibrated for ${file.quant} with policy ${file.policy}, but the pipeline loaded policy ${policy}`);
  }
  return { spec: file.qsched, source: { kind: "file", location: found.location, quant: file.quant, steps: file.steps } };
}

/** The warning printed when "auto" falls back (keeps the wording users have seen before). */
export function autoFallbackWarning(reason: string): string {
  return `qsched: "auto" ${reason}; using (m, s) = (1, 1)`;
}

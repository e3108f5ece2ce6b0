import { resolveQSched, validateQSchedSpec, type QSchedSpec } from "./qsched.ts";

/**
 * A Q-Sched coefficient file (JSON), the result of a calibration run:
 * `{ "format": "qsched-coefficients", "version": 1, "model": "...", "scheme": "linear" | "explicit", "steps": 4,
 *    "m": 0.955, "s": 1.012 }` (linear) or `"model_coeff": [...], "sample_coeff": [...]` (explicit, `steps` long),
 * plus optional `"calibration": { "metric": "...", "score": 0.31 }`, `"date"` (ISO 8601), `"quant"`: the
 * weight quantization the coefficients were calibrated for ("W4A8", "W8A8", …, or "none"), and `"policy"`:
 * which layers it quantized ("torchao": nn.Linear only, "all": convolutions too). `qsched: "auto"` matches both
 * against what it loads.
 */
export interface CoefficientFile {
  model: string;
  steps: number;
  qsched: QSchedSpec;
  calibration?: { metric: string; score: number };
  date?: string;
  /** Quantization scheme calibrated for, upper case ("W4A8") or "none". */
  quant?: string;
  /** Quantization policy calibrated for (with a scheme other than "none"). */
  policy?: "torchao" | "all";
}

const FORMAT = "qsched-coefficients";
const VERSION = 1;

function fail(msg: string): never {
  throw new Error(`coefficient file: ${msg}`);
}

function finiteNumber(obj: Record<string, unknown>, key: string): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`"${key}" must be a finite number, found ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

function numberArray(obj: Record<string, unknown>, key: string, steps: number): number[] {
  const v = obj[key];
  if (!Array.isArray(v)) fail(`"${key}" must be an array of ${steps} numbers`);
  if (v.length !== steps) fail(`"${key}" has ${v.length} entries, expected ${steps} (steps)`);
  v.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x)) fail(`"${key}"[${i}] must be a finite number, found ${JSON.stringify(x) ?? String(x)}`);
  });
  return v as number[];
}

/** Parses and validates a coefficient file (text or already-parsed JSON). */
export function parseCoefficientFile(input: string | unknown): CoefficientFile {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("expected a JSON object");
  const obj = raw as Record<string, unknown>;
  if (obj.format !== FORMAT) fail(`"format" must be "${FORMAT}", found ${JSON.stringify(obj.format)}`);
  if (obj.version !== VERSION) fail(`"version" must be ${VERSION}, found ${JSON.stringify(obj.version)}`);
  if (typeof obj.model !== "string" || obj.model === "") fail(`"model" must be a non-empty string`);
  const steps = finiteNumber(obj, "steps");
  if (!Number.isInteger(steps) || steps < 1) fail(`"steps" must be an integer ≥ 1, found ${steps}`);
  let qsched: QSchedSpec;
  if (obj.scheme === "linear") {
    qsched = { scheme: "linear", m: finiteNumber(obj, "m"), s: finiteNumber(obj, "s") };
  } else if (obj.scheme === "explicit") {
    qsched = { scheme: "explicit", modelCoeff: numberArray(obj, "model_coeff", steps), sampleCoeff: numberArray(obj, "sample_coeff", steps) };
  } else {
    fail(`"scheme" must be "linear" or "explicit", found ${JSON.stringify(obj.scheme)}`);
  }
  validateQSchedSpec(qsched);
  const out: CoefficientFile = { model: obj.model, steps, qsched };
  if (obj.calibration !== undefined) {
    const c = obj.calibration as Record<string, unknown>;
    if (c === null || typeof c !== "object" || typeof c.metric !== "string") fail(`"calibration" must be { "metric": string, "score": number }`);
    out.calibration = { metric: c.metric, score: finiteNumber(c, "score") };
  }
  if (obj.date !== undefined) {
    if (typeof obj.date !== "string" || Number.isNaN(Date.parse(obj.date))) fail(`"date" must be an ISO 8601 date string, found ${JSON.stringify(obj.date)}`);
    out.date = obj.date;
  }
  if (obj.quant !== undefined) {
    if (typeof obj.quant !== "string" || !/^(none|w8a8|w4a8|w8a16|w4a16)$/i.test(obj.quant)) fail(`"quant" must be one of none, W8A8, W4A8, W8A16, W4A16, found ${JSON.stringify(obj.quant)}`);
    out.quant = obj.quant.toLowerCase() === "none" ? "none" : obj.quant.toUpperCase();
  }
  if (obj.policy !== undefined) {
    if (obj.policy !== "torchao" && obj.policy !== "all") fail(`"policy" must be "torchao" or "all", found ${JSON.stringify(obj.policy)}`);
    out.policy = obj.policy;
  }
  return out;
}

/** Writes a coefficient file as pretty JSON (validated first, so what is written parses back). */
export function serializeCoefficientFile(file: CoefficientFile): string {
  if (!Number.isInteger(file.steps) || file.steps < 1) fail(`steps must be an integer ≥ 1, found ${file.steps}`);
  validateQSchedSpec(file.qsched);
  resolveQSched(file.qsched, file.steps); // explicit arrays must be `steps` long
  const body: Record<string, unknown> = { format: FORMAT, version: VERSION, model: file.model, steps: file.steps, scheme: file.qsched.scheme };
  if (file.qsched.scheme === "linear") Object.assign(body, { m: file.qsched.m, s: file.qsched.s });
  else Object.assign(body, { model_coeff: [...file.qsched.modelCoeff], sample_coeff: [...file.qsched.sampleCoeff] });
  if (file.calibration) body.calibration = file.calibration;
  if (file.date) body.date = file.date;
  if (file.quant) body.quant = file.quant;
  if (file.policy) body.policy = file.policy;
  const text = JSON.stringify(body, null, 2) + "\n";
  parseCoefficientFile(text);
  return text;
}

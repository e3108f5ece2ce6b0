/**
 * Verifier kind "quant": recomputes every case of a torchao quantizer fixture folder on the CPU
 * (src/quant) and compares with the stored tensors. Driven by manifest.json `cases[]`
 * ({file, scheme, group_size, M, N, K}); file names carry no meaning.
 * Checks (README of the fixture folder): codes exact except a ±1 flip where the pre-round value is
 * within 1e-6 of a .5 tie; scales and zero points ≤ 1 ulp; Y ≤ tol relative to max|Y|.
 */
import { join } from "node:path";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { formatForFixtureScheme, type IntRangeSpec, type QuantFormat } from "../../quant/formats.ts";
import { dequantizeBlocks, preRoundValue, quantizeActivations, quantizeWeight, ulpDistance, type QuantizedBlocks } from "../../quant/quantize.ts";
import { packWeight } from "../../quant/packing.ts";
import { quantizedLinearReference } from "../../quant/linear.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";

/** README: Y ≤ 1e-5 relative to max|Y| (float32 accumulation order differs from torch's). */
const DEFAULT_TOL = 1e-5;
/** README: a code may differ by ±1 only where x·(1/scale) is within this of a .5 tie. */
const TIE_WINDOW = 1e-6;
/** README: scales and zero points within 1 ulp. */
const MAX_SCALE_ULPS = 1;

interface ManifestCase {
  file: string;
  scheme: string;
  group_size: number;
  M: number;
  N: number;
  K: number;
}

function manifestCases(manifest: Manifest): ManifestCase[] {
  const cases = manifest.cases;
  if (!Array.isArray(cases)) throw new Error('quant manifest has no "cases" list');
  return cases.map((c, i) => {
    const r = c as Partial<ManifestCase>;
    for (const key of ["file", "scheme"] as const) {
      if (typeof r[key] !== "string") throw new Error(`quant manifest cases[${i}].${key} is ${JSON.stringify(r[key])}, expected a string`);
    }
    for (const key of ["group_size", "M", "N", "K"] as const) {
      if (!Number.isInteger(r[key])) throw new Error(`quant manifest cases[${i}].${key} is ${JSON.stringify(r[key])}, expected an integer`);
    }
    return r as ManifestCase;
  });
}

/** First mismatch description, or null: codes must be equal, or ±1 at a tie of the recomputed pre-round value. */
function compareCodes(label: string, got: QuantizedBlocks, want: ArrayLike<number>, x: Float32Array, spec: IntRangeSpec): string | null {
  if (want.length !== got.codes.length) return `${label}: ${want.length} stored codes, computed ${got.codes.length}`;
  const groups = got.cols / got.groupSize;
  for (let i = 0; i < want.length; i++) {
    const d = (got.codes[i] as number) - (want[i] as number);
    if (d === 0) continue;
    const gi = Math.floor(i / got.cols) * groups + Math.floor((i % got.cols) / got.groupSize);
    const v = preRoundValue(x[i] as number, got.scales[gi] as number, got.zeroPoints[gi] as number, spec);
    const tie = Math.abs(v - Math.floor(v) - 0.5) <= TIE_WINDOW;
    if (Math.abs(d) > 1 || !tie) return `${label}[${i}] = ${got.codes[i]}, stored ${want[i]} (pre-round value ${v}, not a .5 tie)`;
  }
  return null;
}

function compareUlps(label: string, got: Float32Array, want: Float32Array): string | null {
  if (got.length !== want.length) return `${label}: ${want.length} stored values, computed ${got.length}`;
  for (let i = 0; i < want.length; i++) {
    const u = ulpDistance(got[i] as number, want[i] as number);
    if (u > MAX_SCALE_ULPS) return `${label}[${i}] = ${got[i]}, stored ${want[i]} (${u} ulp, allowed ${MAX_SCALE_ULPS})`;
  }
  return null;
}

/** Runs one case; returns a failure description or the Y error. */
function checkCase(file: LoadedSafetensors, c: ManifestCase, tol: number): { error: number; problem: string | null; yName: string } {
  const format: QuantFormat = formatForFixtureScheme(c.scheme);
  const gs = format.defaultGroupSize === "per-channel" ? "per-channel" : c.group_size;
  for (const [name, shape] of [["W", [c.N, c.K]], ["X", [c.M, c.K]]] as const) {
    const s = file.shape(name);
    if (s.join(",") !== shape.join(",")) return { error: Infinity, problem: `${name} has shape [${s}], manifest says [${shape}]`, yName: "" };
  }
  const w = file.f32("W");
  const x = file.f32("X");
  const qw = quantizeWeight(w, c.N, c.K, format, gs);
  const problems = [
    compareCodes("W_q", qw, file.typed("W_q") as Int8Array, w, format.weight),
    compareUlps("W_scale", qw.scales, file.f32("W_scale")),
    file.entries.has("W_zero_point") ? compareUlps("W_zero_point", qw.zeroPoints, file.f32("W_zero_point")) : null,
  ];
  if (format.activation) {
    const qx = quantizeActivations(x, c.M, c.K, format);
    problems.push(
      compareCodes("X_q", qx, file.typed("X_q") as Int8Array, x, format.activation),
      compareUlps("X_scale", qx.scales, file.f32("X_scale")),
      file.entries.has("X_zero_point") ? compareUlps("X_zero_point", qx.zeroPoints, file.f32("X_zero_point")) : null,
    );
  }
  // The stored dequantized tensors, from our codes and scales (the same 1e-5 bound: a 1-ulp scale moves them ~1e-7).
  const deq: Array<[string, () => Float32Array]> = [["W_deq", () => dequantizeBlocks(qw, format.weight)]];
  if (format.activation) deq.push(["X_deq", () => dequantizeBlocks(quantizeActivations(x, c.M, c.K, format), format.activation!)]);
  for (const [n, ours] of deq) {
    if (!file.entries.has(n)) continue;
    const e = relativeMaxError(ours(), file.f32(n));
    if (!(e <= tol)) problems.push(`${n} error ${e.toExponential(2)} > tol ${tol}`);
  }
  const bias = file.entries.has("bias") ? file.f32("bias") : null;
  const y = quantizedLinearReference(x, packWeight(format, qw), bias);
  // Every stored output is compared (README: Y ≤ 1e-5 relative): the integer-path one (W8A8, W8 weight-only) and the
  // float64 dequantize-then-linear one agree to ~1e-7 on the golden files, so both hold the same bound.
  const yNames = ["Y_int_path_f32", "Y_f64"].filter((n) => file.entries.has(n));
  if (!yNames.length) throw new Error(`${c.file}: no Y_int_path_f32 or Y_f64 to compare`);
  let error = 0;
  for (const n of yNames) {
    const e = relativeMaxError(y, file.f32(n));
    error = Math.max(error, e);
    if (!(e <= tol)) problems.push(`${n} error ${e.toExponential(2)} > tol ${tol}`);
  }
  const problem = problems.find((p) => p !== null) ?? null;
  return { error, problem, yName: yNames.join(" and ") };
}

const quantKind: VerifyKind = {
  kind: "quant",
  defaultTol: DEFAULT_TOL,
  needsGpu: false,
  async run(folder: string, manifest: Manifest, opts: VerifyOptions): Promise<CaseResult[]> {
    const tol = opts.tol ?? DEFAULT_TOL;
    const results: CaseResult[] = [];
    for (const c of manifestCases(manifest)) {
      const name = `${c.scheme} M${c.M} N${c.N} K${c.K} (${c.file})`;
      try {
        const { error, problem, yName } = checkCase(readSafetensorsFileSync(join(folder, c.file)), c, tol);
        results.push({ name, ok: problem === null, error, detail: problem ?? `codes match, scales ≤ ${MAX_SCALE_ULPS} ulp, ${yName}` });
      } catch (e) {
        results.push({ name, ok: false, detail: (e as Error).message });
      }
      opts.log?.(`quant: ${name} done`);
    }
    return results;
  },
};

export default quantKind;

/**
 * Runs one case of a golden `quant` folder (torchao fixtures) on the GPU: quantizes W with the GPU
 * quantizer, compares codes and scales with the stored ones, runs the quantized linear on X and compares
 * Y with the fixture's reference (`Y_int_path_f32` where stored — W8A8, W8A16 — else `Y_f64`).
 * The CPU checks of the same folder live in src/verify/kinds/quant.ts, which calls this for the GPU half.
 */
import type { Gpu } from "../gpu/runtime.ts";
import { formatForFixtureScheme } from "../quant/formats.ts";
import { unpackCodes } from "../quant/packing.ts";
import { ulpDistance } from "../quant/quantize.ts";
import { relativeMaxError } from "../verify/compare.ts";
import type { CaseResult } from "../verify/types.ts";
import type { TypedArrayOf } from "../weights/safetensors/convert.ts";
import type { SafetensorsEntry } from "../weights/safetensors/header.ts";
import { quantizeWeightOnGpu } from "./quant-blocks.ts";
import type { IntLinearKernel } from "./quant-int-linear.ts";
import { quantizedLinear } from "./quant-linear.ts";
import { disposeQuantizedWeight } from "./quant-weight.ts";

/** What the runner reads from a case file (satisfied by in-memory and on-disk safetensors readers). */
export interface QuantCaseTensors {
  entries: Map<string, SafetensorsEntry>;
  f32(name: string): Float32Array;
  typed(name: string): TypedArrayOf;
  shape(name: string): number[];
}

/** A manifest entry of a quant folder. */
export interface QuantCaseSpec {
  file: string;
  scheme: string;
  group_size: number;
  M: number;
  N: number;
  K: number;
}

/** README: Y ≤ 1e-5 relative to max|Y| (summation order differs from torch's). */
export const QUANT_Y_TOL = 1e-5;
/** README: scales and zero points within 1 ulp. */
const MAX_SCALE_ULPS = 1;

function firstUlpMismatch(what: string, got: Float32Array, want: Float32Array): string | null {
  if (got.length !== want.length) return `${what}: ${got.length} values, fixture has ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const u = ulpDistance(got[i]!, want[i]!);
    if (u > MAX_SCALE_ULPS) return `${what}[${i}] = ${got[i]}, fixture ${want[i]} (${u} ulp)`;
  }
  return null;
}

/**
 * One quant case on the GPU. `intKernel` picks the W8A8/W4A8 kernel (src/ops/quant-int-linear.ts;
 * default "auto"). Codes must equal the fixture's exactly (the GPU quantizer reproduces float32
 * torchao arithmetic); a code differing at a .5 tie would show up here as a failure to look at.
 */
export async function runQuantCaseOnGpu(gpu: Gpu, st: QuantCaseTensors, c: QuantCaseSpec, tol = QUANT_Y_TOL, opts: { intKernel?: IntLinearKernel } = {}): Promise<CaseResult> {
  const name = `gpu ${c.scheme} M${c.M} N${c.N} K${c.K} (${c.file})`;
  const format = formatForFixtureScheme(c.scheme);
  const w = gpu.upload(st.f32("W"), [c.N, c.K]);
  const x = gpu.upload(st.f32("X"), st.shape("X"));
  const bias = st.entries.has("bias") ? gpu.upload(st.f32("bias"), [c.N]) : undefined;
  const qw = await quantizeWeightOnGpu(gpu, w, format, format.defaultGroupSize === "per-channel" ? "per-channel" : c.group_size);
  try {
    const problems: (string | null)[] = [];
    const codes = unpackCodes(format, (await gpu.download(qw.codes)) as Uint32Array, c.N, c.K);
    const want = st.typed("W_q");
    const bad = codes.findIndex((v, i) => v !== want[i]);
    problems.push(bad >= 0 ? `W_q[${bad}] = ${codes[bad]} on the GPU, fixture ${want[bad]}` : null);
    problems.push(firstUlpMismatch("W_scale", await gpu.read(qw.scales), st.f32("W_scale")));
    if (qw.zeroPoints && st.entries.has("W_zero_point")) problems.push(firstUlpMismatch("W_zero_point", await gpu.read(qw.zeroPoints), st.f32("W_zero_point")));
    const y = await quantizedLinear(gpu, x, qw, bias, { intKernel: opts.intKernel });
    const yName = st.entries.has("Y_int_path_f32") ? "Y_int_path_f32" : "Y_f64";
    const error = relativeMaxError(await gpu.read(y), st.f32(yName));
    y.dispose();
    const problem = problems.find((p) => p !== null) ?? (error <= tol ? null : `${yName} error ${error.toExponential(2)} > tol ${tol}`);
    return { name, ok: problem === null, error, detail: problem ?? `GPU codes equal, scales ≤ ${MAX_SCALE_ULPS} ulp, ${yName} ${error.toExponential(1)}` };
  } finally {
    disposeQuantizedWeight(qw);
    w.dispose();
    x.dispose();
    bias?.dispose();
  }
}

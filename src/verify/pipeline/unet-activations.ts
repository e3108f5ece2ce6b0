/**
 * Verifies our UNet against one activations part of a pipeline fixture folder (README "Activations"):
 * feeds the stored `in.*` inputs, captures each module the part's manifest lists through the forward
 * hook and compares it with `act.<module>`. Quantized parts (`activations-w8a8`, `-w4a8`) also check the
 * quantized/float split of the linears against the manifest and, for each module in `linear_details`,
 * the per-token activation codes and the linear output computed from the stored input.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { linear } from "../../ops/linear.ts";
import { quantizeActivationsPerToken } from "../../ops/quant-blocks.ts";
import { QUANT_FORMATS, formatForFixtureScheme, parseSchemeId, type QuantFormat } from "../../quant/formats.ts";
import { preRoundValue, ulpDistance } from "../../quant/quantize.ts";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { weightSourceFrom } from "../../models/weights.ts";
import type { UnetTestVariants } from "../../models/unet/context.ts";
import { Unet, type UnetInputs } from "../../models/unet/unet.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult } from "../types.ts";

/** Float parts: README bound for one UNet call fed the stored inputs (measured ~1e-6). */
export const UNET_FLOAT_TOL = 1e-4;
/** Quantized parts: README one-call bound, applied to both max-rel and mean-rel (±1 code flips cascade). */
export const UNET_QUANT_TOL = 5e-2;
/** README: a quantized linear's output from the stored x within 1e-5 max-rel. */
const LINEAR_Y_TOL = 1e-5;
/** README: an activation code may differ by ±1 only within this of a .5 tie. */
const TIE_WINDOW = 1e-6;

export type UnetActivationsPart = "activations" | "activations-w8a8" | "activations-w4a8";

export interface UnetActivationsOptions {
  /** @internal Deliberately wrong numerics (discriminating tests). */
  testVariants?: UnetTestVariants;
  /** @internal Quantize with this group size instead of the manifest's (discriminating tests). */
  testGroupSize?: number;
  /** Receives the wall time of the UNet call (ms, hooks included). */
  onTiming?: (ms: number) => void;
  /** Model dtype (default f32); the stored f32 inputs are converted at the UNet's boundary. */
  dtype?: "f32" | "f16";
}

/**
 * Thrown from the hook once every listed module was captured (a trimmed manifest needs only the front of
 * the network, and its weights file holds only that). The abandoned forward's intermediates stay
 * allocated in the pool: acceptable for a one-shot verification.
 */
class AllCaptured extends Error {}

function meanRelError(a: Float32Array, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += Math.abs(a[i]! - (b[i] as number));
    den += Math.abs(b[i] as number);
  }
  return den === 0 ? (num === 0 ? 0 : Infinity) : num / den;
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`unet activations: ${path} does not exist`);
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** The part's quant format from its manifest `scheme` ("w8a8", or a torchao fixture prefix); null for float parts. */
function partFormat(manifest: Record<string, unknown>): QuantFormat | null {
  const scheme = manifest.scheme;
  if (scheme === undefined) return null;
  if (typeof scheme !== "string") throw new Error(`unet activations: manifest scheme is ${JSON.stringify(scheme)}, expected a string`);
  // "w8a8" style names, or a torchao fixture prefix ("w8a8_int8dyn_act_int8_weight…").
  return scheme.includes("_") ? formatForFixtureScheme(scheme) : QUANT_FORMATS[parseSchemeId(scheme)];
}

function uploadInput(gpu: Gpu, st: LoadedSafetensors, name: string): Tensor {
  return gpu.upload(st.f32(name), st.shape(name), "f32", name);
}

/**
 * Runs one activations part of `pipelineFolder`; one CaseResult per hooked module (plus `out` and the
 * quantization checks). `tol` bounds max-rel (and mean-rel for quantized parts); default per part above.
 */
export async function runUnetActivations(
  gpu: Gpu,
  pipelineFolder: string,
  partName: UnetActivationsPart | string,
  tol?: number,
  opts: UnetActivationsOptions = {},
): Promise<CaseResult[]> {
  const top = existsSync(join(pipelineFolder, "manifest.json")) ? readJson(join(pipelineFolder, "manifest.json")) : {};
  const parts = (top.parts ?? {}) as Record<string, string>;
  const manifestPath = join(pipelineFolder, parts[partName] ?? join(partName, "manifest.json"));
  const manifest = readJson(manifestPath);
  const partDir = join(manifestPath, "..");
  const modules = manifest["unet.safetensors"];
  if (!Array.isArray(modules) || modules.some((m) => typeof m !== "string")) throw new Error(`unet activations: ${manifestPath} has no "unet.safetensors" module list`);
  const format = partFormat(manifest);
  const bound = tol ?? (format ? UNET_QUANT_TOL : UNET_FLOAT_TOL);

  const acts = readSafetensorsFileSync(join(partDir, "unet.safetensors"));
  const config = readJson(join(pipelineFolder, "unet", "config.json"));
  const weightsFile = join(pipelineFolder, "unet", "diffusion_pytorch_model.safetensors");
  const unet = Unet.load(gpu, weightSourceFrom(weightsFile, readSafetensorsFileSync(weightsFile)), config, {
    quant: format ?? undefined,
    groupSize: opts.testGroupSize ?? (typeof manifest.group_size === "number" ? manifest.group_size : undefined),
    dtype: opts.dtype,
  });
  const results: CaseResult[] = [];
  const owned: Tensor[] = [];
  try {
    const has = (n: string) => acts.entries.has(n);
    const input = (n: string) => {
      const t = uploadInput(gpu, acts, n);
      owned.push(t);
      return t;
    };
    const inputs: UnetInputs = {
      sample: input("in.sample"),
      timestep: [...acts.f32("in.timestep")],
      encoderHiddenStates: input("in.encoder_hidden_states"),
      timestepCond: has("in.timestep_cond") ? input("in.timestep_cond") : undefined,
      textEmbeds: has("in.text_embeds") ? input("in.text_embeds") : undefined,
      timeIds: has("in.time_ids") ? acts.f32("in.time_ids") : undefined,
    };
    const wanted = new Set(modules as string[]);
    const compare = (name: string, got: Float32Array, ref: Float32Array, shapeOk: boolean) => {
      const max = shapeOk ? relativeMaxError(got, ref) : Infinity;
      const mean = format && shapeOk ? meanRelError(got, ref) : undefined;
      const ok = max <= bound && (mean === undefined || mean <= bound);
      const detail = `max-rel ${max.toExponential(2)}${mean !== undefined ? `, mean-rel ${mean.toExponential(2)}` : ""} (tol ${bound})`;
      results.push({ name, ok, error: max, detail: shapeOk ? detail : `${name}: shape differs from the stored tensor` });
    };
    const hook = async (module: string, t: Tensor) => {
      if (!wanted.has(module)) return;
      wanted.delete(module);
      const refName = `act.${module}`;
      const ref = acts.f32(refName);
      const refShape = acts.shape(refName);
      compare(`unet ${partName} ${module}`, await gpu.read(t), ref, refShape.join() === t.shape.join());
      if (wanted.size === 0 && module !== "conv_out") throw new AllCaptured();
    };
    const start = performance.now();
    let completed = false;
    try {
      const out = await unet.forward(inputs, { hook, testVariants: opts.testVariants });
      const got = await gpu.read(out);
      opts.onTiming?.(performance.now() - start);
      compare(`unet ${partName} out`, got, acts.f32("out"), acts.shape("out").join() === out.shape.join());
      out.dispose();
      completed = true;
    } catch (e) {
      if (!(e instanceof AllCaptured)) throw e;
    }
    for (const m of wanted) results.push({ name: `unet ${partName} ${m}`, ok: false, detail: `module ${m} was never produced by the forward${completed ? "" : " (stopped early)"}` });
    if (format) results.push(...(await checkQuantization(gpu, unet, manifest, acts, format, partName)));
  } finally {
    for (const t of owned) t.dispose();
    unet.dispose();
  }
  return results;
}

/** The quantized/float split of the linears, and the `linear_details` codes and outputs. */
async function checkQuantization(gpu: Gpu, unet: Unet, manifest: Record<string, unknown>, acts: LoadedSafetensors, format: QuantFormat, part: string): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  const q = unet.quantized!.weights;
  const listed = manifest.quantized_modules;
  if (Array.isArray(listed)) {
    const want = new Set(listed as string[]);
    const extra = [...q.keys()].filter((m) => !want.has(m));
    const missing = [...want].filter((m) => !q.has(m));
    out.push({
      name: `unet ${part} quantized module split`,
      ok: extra.length === 0 && missing.length === 0,
      detail: `${q.size} quantized, manifest ${want.size}; quantized but listed float: [${extra.join(", ")}]; listed but float: [${missing.join(", ")}]`,
    });
  }
  const details = Array.isArray(manifest.linear_details) ? (manifest.linear_details as string[]) : [];
  for (const m of details) {
    const w = q.get(m);
    if (!w) {
      out.push({ name: `unet ${part} lin ${m}`, ok: false, detail: `${m} is in linear_details but was not quantized` });
      continue;
    }
    const xHost = acts.f32(`lin.${m}.x`);
    const x = gpu.upload(xHost, acts.shape(`lin.${m}.x`), "f32", `lin.${m}.x`);
    const xq = await quantizeActivationsPerToken(gpu, x, format);
    const [words, scales, zeros] = [await gpu.download(xq.codes), await gpu.read(xq.scales), await gpu.read(xq.zeroPoints)];
    const codeIssue = compareActivationCodes(words as Uint32Array, scales, zeros, xHost, acts, m, format);
    let scaleUlps = 0;
    const refScales = acts.f32(`lin.${m}.x_scale`);
    for (let i = 0; i < refScales.length; i++) scaleUlps = Math.max(scaleUlps, ulpDistance(scales[i]!, refScales[i]!));
    out.push({ name: `unet ${part} lin ${m} codes`, ok: codeIssue === null && scaleUlps <= 1, detail: codeIssue ?? `codes exact (ties allowed), scales within ${scaleUlps} ulp` });
    const biasName = `${m}.bias`;
    // The per-linear check runs in f32 whatever the model dtype (it checks the weight codes, not f16):
    // an f16 model's bias is read from the checkpoint again, unrounded.
    const f32Model = unet.weights.dtype === "f32";
    const has = unet.weights.has(biasName);
    const bias = !has ? null : f32Model ? unet.weights.get(biasName) : gpu.upload(unet.weights.source.f32(unet.weights.prefix + biasName), unet.weights.shape(biasName), "f32", biasName);
    const y = await linear(gpu, x, w, bias);
    if (bias && !f32Model) bias.dispose();
    const err = relativeMaxError(await gpu.read(y), acts.f32(`lin.${m}.y`));
    out.push({ name: `unet ${part} lin ${m} y`, ok: err <= LINEAR_Y_TOL, error: err, detail: `max-rel ${err.toExponential(2)} (tol ${LINEAR_Y_TOL})` });
    for (const t of [x, y, xq.codes, xq.scales, xq.zeroPoints]) t.dispose();
  }
  return out;
}

/** Null when the GPU's int8 codes equal the stored ones (±1 allowed at a .5 tie), else the first mismatch. */
function compareActivationCodes(words: Uint32Array, scales: Float32Array, zeros: Float32Array, x: Float32Array, acts: LoadedSafetensors, m: string, format: QuantFormat): string | null {
  const ref = acts.typed(`lin.${m}.x_q`) as Int8Array;
  const shape = acts.shape(`lin.${m}.x`);
  const k = shape[shape.length - 1]!;
  const wpr = Math.ceil(k / 4);
  const refZeros = acts.entries.has(`lin.${m}.x_zero_point`) ? acts.f32(`lin.${m}.x_zero_point`) : null;
  for (let i = 0; i < ref.length; i++) {
    const row = Math.floor(i / k);
    const c = i % k;
    const code = (((words[row * wpr + (c >> 2)]! >>> (8 * (c & 3))) & 0xff) << 24) >> 24;
    if (code === ref[i]) continue;
    const v = preRoundValue(x[i]!, scales[row]!, zeros[row]!, format.activation!);
    const tie = Math.abs(v - Math.floor(v) - 0.5) <= TIE_WINDOW;
    if (Math.abs(code - ref[i]!) > 1 || !tie) return `lin.${m}.x_q[${i}] = ${code}, stored ${ref[i]} (pre-round ${v})`;
  }
  if (refZeros) for (let r = 0; r < refZeros.length; r++) if (zeros[r] !== refZeros[r]) return `lin.${m}.x_zero_point[${r}] = ${zeros[r]}, stored ${refZeros[r]}`;
  return null;
}

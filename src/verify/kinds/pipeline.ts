import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Gpu } from "../../gpu/runtime.ts";
import { runTextEncoderActivations } from "../pipeline/text-encoder-activations.ts";
import { runTraces } from "../pipeline/traces.ts";
import { runUnetActivations } from "../pipeline/unet-activations.ts";
import { runVaeDecoderActivations } from "../pipeline/vae-activations.ts";
import { F16_ACTIVATION_TOL } from "../f16-bounds.ts";
import type { CaseResult, VerifyKind } from "../types.ts";

/**
 * A tiny pipeline folder (diffusers layout) whose manifest lists `parts`: activations parts (one
 * call per model, per-layer tensors) and traces parts (whole generations). Every part is run; a
 * part of an unknown kind fails as "cannot run".
 */
const pipelineKind: VerifyKind = {
  kind: "pipeline",
  defaultTol: 1e-4,
  needsGpu: true,
  dtypes: ["f32", "f16"],
  async run(folder, manifest, opts) {
    const dtype = opts.dtype ?? "f32";
    // f16: float parts default to the f16 bounds; quantized parts keep theirs (f16 meets them too).
    const floatTol = opts.tol ?? (dtype === "f16" ? F16_ACTIVATION_TOL : undefined);
    const parts = (manifest.parts ?? {}) as Record<string, string>;
    if (!Object.keys(parts).length) throw new Error(`pipeline manifest in ${folder} lists no "parts"`);
    const gpu = await Gpu.create();
    const results: CaseResult[] = [];
    for (const [part, manifestPath] of Object.entries(parts)) {
      opts.log?.(`pipeline: part ${part}`);
      try {
        if (part.startsWith("traces")) {
          results.push(...(await runTraces(folder, manifestPath, opts.tol, opts.log, dtype)));
        } else if (part.startsWith("activations")) {
          results.push(...(await runActivationsPart(gpu, folder, part, manifestPath, floatTol, opts.tol, dtype)));
        } else {
          results.push({ name: `${part}`, ok: false, detail: `cannot run: unknown part kind "${part}"` });
        }
      } catch (e) {
        results.push({ name: part, ok: false, detail: `error: ${(e as Error).message}` });
      }
    }
    return results;
  },
};
export default pipelineKind;

/**
 * One activations part: the UNet's per-module tensors (listed in the part manifest, quantized when it names a
 * scheme), and every text encoder's and the VAE decoder's file found in the part's folder, whether the manifest
 * lists them or not (the golden manifests list only the UNet's modules): a stored file is always checked.
 */
async function runActivationsPart(
  gpu: Gpu,
  folder: string,
  part: string,
  manifestPath: string,
  floatTol: number | undefined,
  tol: number | undefined,
  dtype: "f32" | "f16",
): Promise<CaseResult[]> {
  const partManifest = join(folder, manifestPath);
  const dir = dirname(partManifest);
  const m = JSON.parse(readFileSync(partManifest, "utf8")) as Record<string, unknown>;
  const present = readdirSync(dir);
  const stored = [...new Set([...present, ...Object.keys(m)])].filter((f) => f.endsWith(".safetensors"));
  const results: CaseResult[] = [];
  // A quantized part (its manifest names a scheme) keeps the quantized bounds; a float one takes the float/f16 bound.
  if (stored.includes("unet.safetensors")) results.push(...(await runUnetActivations(gpu, folder, part, m.scheme === undefined ? floatTol : tol, { dtype })));
  if (stored.some((f) => /^text_encoder(_\d+)?\.safetensors$/.test(f))) results.push(...(await runTextEncoderActivations(gpu, folder, floatTol, { dtype, dir })));
  if (stored.includes("vae_decoder.safetensors")) results.push(...(await runVaeDecoderActivations(gpu, folder, floatTol, { dtype, dir })));
  const known = /^(unet|vae_decoder|text_encoder(_\d+)?)\.safetensors$/;
  for (const f of stored.filter((f) => !known.test(f))) results.push({ name: `${part} ${f}`, ok: false, detail: `cannot run: no check for activation file ${f}` });
  if (!results.length) results.push({ name: part, ok: false, detail: `cannot run: no activation files in ${dir}` });
  return results;
}

/**
 * Verifies our VAE decoder against a pipeline fixture's `activations/vae_decoder.safetensors`
 * (README "Activations"): decodes the stored `in.z` (= final latents / scaling_factor), captures each
 * hooked module and compares it with `act.<module>`; `out.sample` is compared with the conv_out output.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { VaeTestVariants } from "../../models/vae/blocks.ts";
import { VaeDecoder } from "../../models/vae/decoder.ts";
import { readSafetensorsFileSync } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult } from "../types.ts";
import { componentSource, readJson } from "./component-source.ts";

/** One VAE decode fed the stored z, f32: README-style bound for a conv stack (measured ~1e-6). */
export const VAE_DECODER_TOL = 1e-4;

export interface VaeActivationsOptions {
  /** @internal Deliberately wrong numerics or alternative paths (tests). */
  testVariants?: VaeTestVariants;
  /** Model dtype (default f32); the stored f32 z is converted at the decoder's boundary. */
  dtype?: "f32" | "f16";
  /** The folder holding the activation files (default `<pipeline>/activations`). */
  dir?: string;
}

/** Runs `activations/vae_decoder.safetensors` of `pipelineFolder`; one CaseResult per stored tensor. */
export async function runVaeDecoderActivations(gpu: Gpu, pipelineFolder: string, tol = VAE_DECODER_TOL, opts: VaeActivationsOptions = {}): Promise<CaseResult[]> {
  const file = join(opts.dir ?? join(pipelineFolder, "activations"), "vae_decoder.safetensors");
  if (!existsSync(file)) throw new Error(`vae activations: ${file} does not exist`);
  const acts = readSafetensorsFileSync(file);
  const vae = VaeDecoder.load(gpu, componentSource(join(pipelineFolder, "vae")), readJson(join(pipelineFolder, "vae", "config.json")), { dtype: opts.dtype });
  const results: CaseResult[] = [];
  const compare = async (name: string, ref: string, t: Tensor) => {
    const shapeOk = acts.shape(ref).join() === t.shape.join();
    const err = shapeOk ? relativeMaxError(await gpu.read(t), acts.f32(ref)) : Infinity;
    results.push({ name: `vae ${name}`, ok: err <= tol, error: err, detail: shapeOk ? `max-rel ${err.toExponential(2)} (tol ${tol})` : `shape [${t.shape}] differs from stored [${acts.shape(ref)}]` });
  };
  const seen = new Set<string>();
  gpu.flush();
  const z = gpu.upload(acts.f32("in.z"), acts.shape("in.z"), "f32", "in.z");
  try {
    const hook = async (module: string, t: Tensor) => {
      const ref = `act.${module}`;
      if (!acts.entries.has(ref)) return;
      seen.add(ref);
      await compare(module, ref, t);
    };
    const out = await vae.decode(z, { hook, testVariants: opts.testVariants });
    if (acts.entries.has("out.sample")) await compare("out.sample", "out.sample", out);
    out.dispose();
    for (const ref of acts.entries.keys()) {
      if (ref.startsWith("act.") && !seen.has(ref)) results.push({ name: `vae ${ref}`, ok: false, detail: `${ref} is stored but the decoder never produced it` });
    }
  } finally {
    z.dispose();
    vae.dispose();
  }
  return results;
}

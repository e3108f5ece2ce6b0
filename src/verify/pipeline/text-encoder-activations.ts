/**
 * Verifies our CLIP text encoders against a pipeline fixture's `activations/text_encoder*.safetensors`
 * (README "Activations"): feeds `in.input_ids`, captures embeddings, each layer, the final LayerNorm and
 * the pooled / projected output through the model hook and compares each with the stored tensor.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { ClipTextModel, type ClipTextTestVariants } from "../../models/clip-text/clip-text.ts";
import { parseClipTextConfig } from "../../models/clip-text/config.ts";
import { readSafetensorsFileSync } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult } from "../types.ts";
import { componentSource, readJson } from "./component-source.ts";

/** README: text encoder ≤ 1e-5 relative (an independent re-implementation agreed to 2.4e-6 absolute). */
export const TEXT_ENCODER_TOL = 1e-5;

export interface TextEncoderActivationsOptions {
  /** @internal Deliberately wrong numerics (discriminating tests). */
  testVariants?: ClipTextTestVariants;
  /** Only these components (e.g. ["text_encoder_2"]); default every text_encoder*.safetensors present. */
  components?: readonly string[];
  /** Model dtype (default f32). */
  dtype?: "f32" | "f16";
  /** The folder holding the activation files (default `<pipeline>/activations`). */
  dir?: string;
}

/** Hook name → stored tensor name. */
function refName(module: string): string {
  return module === "pooler_output" || module === "text_embeds" ? `out.${module}` : `act.${module}`;
}

/** Runs every text-encoder activation file of `pipelineFolder`; one CaseResult per stored tensor compared. */
export async function runTextEncoderActivations(gpu: Gpu, pipelineFolder: string, tol = TEXT_ENCODER_TOL, opts: TextEncoderActivationsOptions = {}): Promise<CaseResult[]> {
  const actDir = opts.dir ?? join(pipelineFolder, "activations");
  if (!existsSync(actDir)) throw new Error(`text encoder activations: ${actDir} does not exist`);
  const files = readdirSync(actDir).filter((f) => /^text_encoder(_\d+)?\.safetensors$/.test(f)).sort();
  const components = files.map((f) => f.replace(".safetensors", "")).filter((c) => !opts.components || opts.components.includes(c));
  if (!components.length) throw new Error(`text encoder activations: no text_encoder*.safetensors in ${actDir}`);
  const results: CaseResult[] = [];
  for (const component of components) {
    const name = (what: string) => `${component} ${what}`;
    const acts = readSafetensorsFileSync(join(actDir, `${component}.safetensors`));
    const rawConfig = readJson(join(pipelineFolder, component, "config.json"));
    const cfg = parseClipTextConfig(rawConfig);
    const model = ClipTextModel.load(gpu, componentSource(join(pipelineFolder, component), cfg.vocabSize), rawConfig, { dtype: opts.dtype });
    try {
      const idsShape = acts.shape("in.input_ids");
      const ids = { data: acts.typed("in.input_ids") as Int32Array, batch: idsShape[0]! };
      const seen = new Set<string>();
      const hook = async (module: string, t: Tensor) => {
        const ref = refName(module);
        if (!acts.entries.has(ref)) return;
        seen.add(ref);
        const shapeOk = acts.shape(ref).join() === t.shape.join();
        const err = shapeOk ? relativeMaxError(await gpu.read(t), acts.f32(ref)) : Infinity;
        results.push({
          name: name(module),
          ok: err <= tol,
          error: err,
          detail: shapeOk ? `max-rel ${err.toExponential(2)} (tol ${tol})` : `shape [${t.shape}] differs from stored [${acts.shape(ref)}]`,
        });
      };
      const out = await model.forward(ids, { hook, testVariants: opts.testVariants });
      out.dispose();
      for (const ref of acts.entries.keys()) {
        if ((ref.startsWith("act.") || ref === "out.pooler_output" || ref === "out.text_embeds") && !seen.has(ref)) {
          results.push({ name: name(ref), ok: false, detail: `${ref} is stored but the model never produced it` });
        }
      }
    } finally {
      model.dispose();
    }
  }
  return results;
}

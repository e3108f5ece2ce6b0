import type { ModelIndex } from "../weights/diffusers/model-index.ts";

/** The pipeline families we run, picked from model_index.json's `_class_name`. */
export type PipelineKind = "sd" | "lcm" | "sdxl";

const KIND_BY_CLASS: Record<string, PipelineKind> = {
  StableDiffusionPipeline: "sd",
  LatentConsistencyModelPipeline: "lcm",
  StableDiffusionXLPipeline: "sdxl",
};

/** Components each family needs (all must exist in model_index.json). */
export const REQUIRED_COMPONENTS: Record<PipelineKind, string[]> = {
  sd: ["unet", "vae", "text_encoder", "tokenizer", "scheduler"],
  lcm: ["unet", "vae", "text_encoder", "tokenizer", "scheduler"],
  sdxl: ["unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"],
};

export function pipelineKindOf(index: ModelIndex, where: string): PipelineKind {
  const kind = KIND_BY_CLASS[index.className];
  if (!kind) {
    throw new Error(`${where}: unknown model type "${index.className}" in model_index.json; supported: ${Object.keys(KIND_BY_CLASS).join(", ")}`);
  }
  const present = new Set(index.components.map((c) => c.name));
  const missing = REQUIRED_COMPONENTS[kind].filter((c) => !present.has(c));
  if (missing.length) throw new Error(`${where}: ${index.className} needs components [${missing.join(", ")}] which model_index.json does not list`);
  return kind;
}

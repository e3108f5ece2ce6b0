import type { WeightSource } from "../sources/types.ts";
import { findWeightFiles } from "./weight-files.ts";
import { loadComponent, type LoadComponentOptions, type LoadedComponent } from "./component.ts";
import { readModelIndex, type ModelIndex } from "./model-index.ts";

/** A diffusers pipeline folder: its model_index.json and a lazy loader per weight-bearing component. */
export interface PipelineWeights {
  index: ModelIndex;
  /** Components that have weight files (for the requested variant), e.g. unet, vae, text_encoder. */
  weightComponents: string[];
  load(component: string, options?: Omit<LoadComponentOptions, "variant">): Promise<LoadedComponent>;
}

/**
 * Reads model_index.json and finds which components carry weights; nothing else is read until
 * `load(component)`. Components without weights (scheduler, tokenizer) are left out of the list.
 */
export async function openPipeline(source: WeightSource, options: { variant?: string } = {}): Promise<PipelineWeights> {
  const index = await readModelIndex(source);
  const weightComponents: string[] = [];
  for (const c of index.components) {
    try {
      await findWeightFiles(source, c.name, options.variant);
      weightComponents.push(c.name);
    } catch {
      // No weights here: a scheduler, a tokenizer, or a component absent in this variant.
    }
  }
  return {
    index,
    weightComponents,
    load: (component, o) => loadComponent(source, component, { ...o, variant: options.variant }),
  };
}

import { WeightsLoadError } from "../errors.ts";
import type { WeightSource } from "../sources/types.ts";

/** One pipeline component named in model_index.json, e.g. unet → ["diffusers", "UNet2DConditionModel"]. */
export interface PipelineComponent {
  name: string;
  library: string;
  className: string;
}

export interface ModelIndex {
  /** The pipeline class, e.g. "StableDiffusionPipeline". */
  className: string;
  /** Components with a class; `[null, null]` entries (absent safety checker etc.) are left out. */
  components: PipelineComponent[];
  /** Every other key (flags such as requires_safety_checker, force_zeros_for_empty_prompt). */
  options: Record<string, unknown>;
}

/** Parses model_index.json text; `where` names the file for errors. */
export function parseModelIndex(text: string, where: string): ModelIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightsLoadError(`not valid JSON (${(e as Error).message})`, where);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new WeightsLoadError("not a JSON object", where);
  const obj = json as Record<string, unknown>;
  if (typeof obj._class_name !== "string") throw new WeightsLoadError(`"_class_name" is ${JSON.stringify(obj._class_name)}, expected a string`, where);
  const components: PipelineComponent[] = [];
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k.startsWith("_")) continue;
    if (Array.isArray(v) && v.length === 2) {
      if (v[0] === null && v[1] === null) continue;
      if (typeof v[0] === "string" && typeof v[1] === "string") {
        components.push({ name: k, library: v[0], className: v[1] });
        continue;
      }
      throw new WeightsLoadError(`component "${k}" is ${JSON.stringify(v)}, expected ["library", "Class"] or [null, null]`, where);
    }
    options[k] = v;
  }
  return { className: obj._class_name, components, options };
}

export async function readModelIndex(source: WeightSource): Promise<ModelIndex> {
  return parseModelIndex(await source.readText("model_index.json"), source.locate("model_index.json"));
}

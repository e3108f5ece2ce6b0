/**
 * The packed pipeline layout: a diffusers folder in which a component (the UNet; the layout leaves
 * room for text encoders) holds a qsched pack instead of float weights:
 *   model_index.json, scheduler/, tokenizer/, text_encoder/, vae/   as in the source
 *   unet/config.json                                                 unchanged
 *   unet/diffusion_pytorch_model.qpack.safetensors                   the pack (pack-format.ts)
 *   qsched.json                                                      optional Q-Sched coefficients
 * The pack file takes the stem of the weights it replaces (`model` for transformers components).
 * `weights-tools pack-pipeline` writes it; `QSchedPipeline.fromPretrained` loads it.
 */
import { WEIGHT_STEMS } from "../weights/diffusers/weight-files.ts";
import type { WeightSource } from "../weights/sources/types.ts";
import type { PackInfo } from "./pack-format.ts";

export const PACK_FILE_SUFFIX = ".qpack.safetensors";

/** Q-Sched coefficient file at the root of a pipeline folder (format: src/scheduler/coefficient-file.ts). */
export const COEFFICIENT_FILE = "qsched.json";

/**
 * `<component>/<stem>.qpack.safetensors`; component "" is a single-model folder (a CLIP scorer:
 * `model.qpack.safetensors` beside its config.json).
 */
export function packFilePath(component: string, stem: (typeof WEIGHT_STEMS)[number] = "diffusion_pytorch_model"): string {
  return component ? `${component}/${stem}${PACK_FILE_SUFFIX}` : `${stem}${PACK_FILE_SUFFIX}`;
}

/** The component's pack file, or null when it has none (float weights, or no such component). */
export async function findComponentPack(source: WeightSource, component: string): Promise<string | null> {
  for (const stem of WEIGHT_STEMS) {
    const path = packFilePath(component, stem);
    if (await source.exists(path)) return path;
  }
  return null;
}

/** Config keys diffusers writes about itself, not about the model. */
const isBookkeeping = (key: string) => key.startsWith("_");

/**
 * Throws unless `config` (the folder's component config) is the one the pack was made from, listing
 * the keys that differ. Packs that did not record their config pass (nothing to compare).
 */
export function checkPackConfig(info: PackInfo, config: Record<string, unknown>, where: string): void {
  const made = info.componentConfig;
  if (!made) return;
  const keys = [...new Set([...Object.keys(made), ...Object.keys(config)])].filter((k) => !isBookkeeping(k)).sort();
  const differ = keys.filter((k) => JSON.stringify(made[k]) !== JSON.stringify(config[k]));
  if (differ.length === 0) return;
  const shown = differ.slice(0, 5).map((k) => `${k} is ${JSON.stringify(config[k]) ?? "absent"} in config.json but ${JSON.stringify(made[k]) ?? "absent"} in the pack's`);
  throw new Error(
    `${where}: a quantized pack for another model (made from ${info.sourceModel || "an unnamed model"}): ${shown.join("; ")}${differ.length > 5 ? `; and ${differ.length - 5} more` : ""}`,
  );
}

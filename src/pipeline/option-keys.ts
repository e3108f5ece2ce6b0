import type { FromPretrainedOptions, GenerateOptions } from "./types.ts";

/**
 * Option bags are checked for unknown keys: a misspelt or diffusers-style name (`guidance_scale`,
 * `num_inference_steps`) would otherwise be ignored without a word and the default used instead.
 */

const GENERATE_KEYS = [
  "prompt", "negativePrompt", "steps", "guidanceScale", "seed", "width", "height", "batchSize", "signal", "onStep",
  "preview", "decoder", "onDecode", "keepRgba", "checkFinite", "unetPlan", "trace",
] as const satisfies readonly (keyof GenerateOptions)[];

const FROM_PRETRAINED_KEYS = [
  "quant", "policy", "scaleStorage", "qsched", "dtype", "variant", "onProgress", "gpu", "adapter", "signal",
] as const satisfies readonly (keyof FromPretrainedOptions)[];

// Compile-time completeness: a key added to an options interface but not to its list fails to type-check here.
type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;
const generateComplete: [Missing<GenerateOptions, typeof GENERATE_KEYS>] extends [never] ? true : never = true;
const fromPretrainedComplete: [Missing<FromPretrainedOptions, typeof FROM_PRETRAINED_KEYS>] extends [never] ? true : never = true;
void generateComplete;
void fromPretrainedComplete;

/** diffusers' names for our options (pipeline call and from_pretrained arguments). */
const DIFFUSERS_NAMES: Record<string, string> = {
  negative_prompt: "negativePrompt",
  num_inference_steps: "steps",
  guidance_scale: "guidanceScale",
  num_images_per_prompt: "batchSize",
  generator: "seed",
  callback_on_step_end: "onStep",
  torch_dtype: "dtype",
};

function checkKeys(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const lower = key.toLowerCase();
    const hint = DIFFUSERS_NAMES[key] ?? known.find((k) => k.toLowerCase() === lower.replace(/_/g, ""));
    throw new Error(`${where}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; options: ${known.join(", ")}`);
  }
}

export function checkGenerateKeys(options: GenerateOptions): void {
  checkKeys("generate", options, GENERATE_KEYS);
}

export function checkFromPretrainedKeys(options: FromPretrainedOptions): void {
  checkKeys("fromPretrained", options, FROM_PRETRAINED_KEYS);
}

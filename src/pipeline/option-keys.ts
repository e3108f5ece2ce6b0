import { checkOptionKeys, type ListsEveryKey } from "../util/option-keys.ts";
import type { FromPretrainedOptions, GenerateOptions } from "./types.ts";

/** generate() and fromPretrained() refuse unknown keys, with diffusers' names mapped to ours in the message. */
const GENERATE_KEYS = [
  "prompt", "negativePrompt", "steps", "guidanceScale", "seed", "width", "height", "batchSize", "eta", "signal", "onStep",
  "preview", "decoder", "onDecode", "keepRgba", "checkFinite", "unetPlan", "trace",
] as const satisfies readonly (keyof GenerateOptions)[];

const FROM_PRETRAINED_KEYS = [
  "quant", "policy", "scaleStorage", "qsched", "dtype", "variant", "onProgress", "gpu", "adapter", "signal",
] as const satisfies readonly (keyof FromPretrainedOptions)[];

// Compile-time completeness: a key added to an options interface but not to its list fails to type-check here.
const generateComplete: ListsEveryKey<GenerateOptions, typeof GENERATE_KEYS> = true;
const fromPretrainedComplete: ListsEveryKey<FromPretrainedOptions, typeof FROM_PRETRAINED_KEYS> = true;
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

export function checkGenerateKeys(options: GenerateOptions): void {
  checkOptionKeys("generate", options, GENERATE_KEYS, DIFFUSERS_NAMES);
}

export function checkFromPretrainedKeys(options: FromPretrainedOptions): void {
  checkOptionKeys("fromPretrained", options, FROM_PRETRAINED_KEYS, DIFFUSERS_NAMES);
}

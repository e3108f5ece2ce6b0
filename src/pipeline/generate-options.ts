import type { PipelineKind } from "./kind.ts";
import type { GenerateOptions } from "./types.ts";

export interface CheckedGenerate {
  prompts: string[];
  /** One per prompt, or null when none was given (SD encodes "" then; SDXL may use zeros, see conditioning.ts). */
  negative: string[] | null;
  steps: number;
  guidanceScale: number;
  eta: number;
  seed: number | bigint;
  width: number;
  height: number;
}

/** Defaults per family: the turbo models' 1-4 steps without CFG, LCM's 4 steps with w = 8.5. */
const DEFAULTS: Record<PipelineKind, { steps: number; guidance: number; size: number }> = {
  sd: { steps: 4, guidance: 0, size: 512 },
  lcm: { steps: 4, guidance: 8.5, size: 512 },
  sdxl: { steps: 1, guidance: 0, size: 1024 },
};

const MAX_SIZE = 2048;
const MAX_BATCH = 16;

/** What is wrong with a step count and guidance scale, or undefined (also for forms that check before loading). */
export function stepsOrGuidanceProblem(steps: number, guidanceScale: number): string | undefined {
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) return `steps must be an integer in [1, 1000], got ${steps}`;
  if (!Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > 50) return `guidanceScale must be in [0, 50], got ${guidanceScale}`;
  return undefined;
}

function fail(msg: string): never {
  throw new Error(`generate: ${msg}`);
}

/**
 * Validates generate() options before anything is allocated, including a memory check: the smallest
 * piece of the widest VAE activation (batch × `vaeSliceChannels` × H × W floats, one GroupNorm group of
 * its widest layer, channel-slices.ts) must fit one storage binding.
 */
export function checkGenerateOptions(o: GenerateOptions, kind: PipelineKind, latentChannels: number, vaeSliceChannels: number, maxBinding: number, defaultSize?: number): CheckedGenerate {
  const d = DEFAULTS[kind];
  const asList = (p: unknown, what: string): string[] => {
    const list = Array.isArray(p) ? p : [p];
    if (!list.length || list.some((x) => typeof x !== "string")) fail(`${what} must be a string or a non-empty list of strings, got ${JSON.stringify(p)}`);
    return list as string[];
  };
  let prompts = asList(o.prompt, "prompt");
  if (prompts.some((p) => p.trim() === "")) fail("prompt is empty");
  const batchSize = o.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) fail(`batchSize must be an integer in [1, ${MAX_BATCH}], got ${batchSize}`);
  if (batchSize > 1) {
    if (prompts.length > 1) fail("batchSize > 1 needs a single prompt");
    prompts = new Array(batchSize).fill(prompts[0]);
  }
  let negative = o.negativePrompt === undefined ? null : asList(o.negativePrompt, "negativePrompt");
  if (negative?.length === 1 && prompts.length > 1) negative = prompts.map(() => negative![0]!);
  if (negative && negative.length !== prompts.length) fail(`negativePrompt has ${negative.length} entries for ${prompts.length} prompts`);
  const steps = o.steps ?? d.steps;
  const guidanceScale = o.guidanceScale ?? d.guidance;
  const problem = stepsOrGuidanceProblem(steps, guidanceScale);
  if (problem) fail(problem);
  const eta = o.eta ?? 0;
  if (!(eta >= 0 && eta <= 1)) fail(`eta must be in [0, 1], got ${eta}`);
  const size = defaultSize ?? d.size;
  const width = o.width ?? size;
  const height = o.height ?? size;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 8 || v > MAX_SIZE || v % 8 !== 0) fail(`${name} must be a multiple of 8 in [8, ${MAX_SIZE}], got ${v}`);
  }
  const seed = o.seed ?? 0;
  if (typeof seed === "number" && (!Number.isInteger(seed) || seed < 0)) fail(`seed must be a non-negative integer, got ${seed}`);
  const slice = prompts.length * vaeSliceChannels * width * height * 4;
  if (slice > maxBinding) {
    fail(`batch ${prompts.length} at ${width}×${height} needs ${(slice / 2 ** 20).toFixed(0)} MiB VAE activation slices (one GroupNorm group), over this adapter's maxStorageBufferBindingSize of ${(maxBinding / 2 ** 20).toFixed(0)} MiB; use a smaller batch or size`);
  }
  void latentChannels;
  return { prompts, negative, steps, guidanceScale, eta, seed, width, height };
}

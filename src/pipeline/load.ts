import { folderSource } from "#platform";
import type { Gpu } from "../gpu/runtime.ts";
import { createScheduler, type AnyScheduler } from "../scheduler/factory.ts";
import type { CLIPTokenizer } from "../tokenizer/clip-tokenizer.ts";
import { loadComponent, readComponentConfig } from "../weights/diffusers/component.ts";
import { readModelIndex, type ModelIndex } from "../weights/diffusers/model-index.ts";
import { fileListSource } from "../weights/sources/file-list-source.ts";
import type { WeightSource } from "../weights/sources/types.ts";
import { urlSource } from "../weights/sources/url-source.ts";
import { findComponentPack } from "../quant/packed-pipeline.ts";
import type { StreamingWeightSource } from "../models/weights.ts";
import { streamComponent } from "./component-tensors.ts";
import { checkComponentConfigs } from "./component-configs.ts";
import { pipelineKindOf, type PipelineKind } from "./kind.ts";
import { checkTokenizerFitsEncoder, loadTokenizerFolder } from "./tokenizer-folder.ts";
import type { LoadProgress } from "./types.ts";

/** Where a pipeline comes from: a URL, a Node folder path, or files the user picked in a browser. */
export type PipelineSource = string | ArrayLike<File> | WeightSource;

/**
 * The source behind a string, FileList or source. A string is a URL when it starts with http(s)://; else a folder
 * path in Node, and in a browser a URL relative to the page (as fetch() would resolve it). `signal` cancels the
 * URL source's requests, a transfer in progress included.
 */
export async function resolveSource(source: PipelineSource, opts: { signal?: AbortSignal } = {}): Promise<WeightSource> {
  if (typeof source === "string") return /^https?:\/\//i.test(source) ? urlSource(source, { signal: opts.signal }) : folderSource(source, { signal: opts.signal });
  if ("readText" in (source as WeightSource)) return source as WeightSource;
  return fileListSource(source as ArrayLike<File>);
}

export interface OpenedPipeline {
  source: WeightSource;
  index: ModelIndex;
  kind: PipelineKind;
  schedulerConfig: Record<string, unknown>;
  tokenizers: CLIPTokenizer[];
  /** The configs of unet, text_encoder(s) and vae, read once here (checked against each other) for their loaders. */
  configs: Record<string, Record<string, unknown>>;
}

async function readJson(source: WeightSource, path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await source.readText(path)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source.locate(path)}: ${(e as Error).message}`);
  }
}

/**
 * Reads model_index.json, the scheduler config, the tokenizers and the components' configs (small files only), and
 * checks that the components fit together (component-configs.ts) before any weight is read.
 */
export async function openPipelineFolder(src: WeightSource, signal?: AbortSignal): Promise<OpenedPipeline> {
  // Between files too: a source without a signal of its own (a folder, picked files) still stops at the next file.
  const check = () => signal?.throwIfAborted();
  check();
  const index = await readModelIndex(src);
  const kind = pipelineKindOf(index, src.label);
  check();
  const schedulerConfig = sdPipelineSchedulerConfig(kind, await readJson(src, "scheduler/scheduler_config.json"));
  check();
  const tokenizers = [await loadTokenizerFolder(src, "tokenizer")];
  check();
  if (kind === "sdxl") tokenizers.push(await loadTokenizerFolder(src, "tokenizer_2"));
  const textEncoders = kind === "sdxl" ? ["text_encoder", "text_encoder_2"] : ["text_encoder"];
  const configs: Record<string, Record<string, unknown>> = {};
  for (const name of ["unet", ...textEncoders, "vae"]) {
    check();
    configs[name] = await readComponentConfig(src, name);
  }
  const locate = (path: string) => src.locate(path);
  checkComponentConfigs(kind, { unet: configs.unet!, textEncoders: textEncoders.map((t) => configs[t]!), vae: configs.vae! }, locate);
  tokenizers.forEach((t, i) => checkTokenizerFitsEncoder(t, configs[textEncoders[i]!]!, { tokenizer: i === 0 ? "tokenizer" : "tokenizer_2", encoder: textEncoders[i]! }, locate));
  return { source: src, index, kind, schedulerConfig, tokenizers, configs };
}

/**
 * A component's config and a streaming tensor source over its weights (models' `loadStreaming` read
 * one tensor at a time from it, in file order). `load(f)` runs the model's load over it, reports the
 * last progress when it succeeds and closes the files either way.
 */
export async function openComponent(src: WeightSource, name: string, onProgress?: (p: LoadProgress) => void, variant?: string, config?: Record<string, unknown>) {
  let comp: Awaited<ReturnType<typeof loadComponent>>;
  try {
    comp = await loadComponent(src, name, { variant, config });
  } catch (e) {
    const pack = await findComponentPack(src, name).catch(() => null);
    if (pack) throw new Error(`${src.locate(pack)}: ${name} is a quantized pack; only the UNet can be loaded from a pack so far`);
    throw e;
  }
  const tensors = streamComponent(comp, (done, total) => onProgress?.({ phase: "download", component: name, bytesDone: done, bytesTotal: total }));
  return {
    config: comp.config,
    tensors,
    async load<T>(f: (tensors: StreamingWeightSource) => Promise<T>): Promise<T> {
      try {
        const model = await f(tensors);
        tensors.finish();
        return model;
      } finally {
        await comp.close();
      }
    },
  };
}

/**
 * diffusers' StableDiffusionPipeline rewrites an "outdated" scheduler config when it is built: steps_offset becomes 1
 * (a missing key counts as the class default, 0) and clip_sample false, for every class that has those keys. It
 * changes "leading" timesteps (Euler at 4 steps: 751, 501, 251, 1 instead of 750, 500, 250, 0). The LCM and SDXL
 * pipelines do not do this.
 */
export function sdPipelineSchedulerConfig(kind: PipelineKind, config: Record<string, unknown>): Record<string, unknown> {
  if (kind !== "sd") return config;
  const out = { ...config };
  if (STEPS_OFFSET_CLASSES.has(String(config._class_name)) && out.steps_offset !== 1) out.steps_offset = 1;
  if (out.clip_sample === true) out.clip_sample = false;
  return out;
}

/** Our scheduler classes whose diffusers constructor takes steps_offset (flow-match's does not). */
const STEPS_OFFSET_CLASSES = new Set(["EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "LCMScheduler", "TCDScheduler"]);

export function newScheduler(p: OpenedPipeline): AnyScheduler {
  return createScheduler(p.schedulerConfig);
}

export type { Gpu };

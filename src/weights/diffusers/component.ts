import { WeightsLoadError, listNames } from "../errors.ts";
import type { ByteSource } from "../safetensors/byte-source.ts";
import { openSafetensors, type LazyTensor } from "../safetensors/lazy-reader.ts";
import { locateFolder, type WeightSource } from "../sources/types.ts";
import { assertTensorsMatch } from "./check.ts";
import { findWeightFiles, type WeightFiles } from "./weight-files.ts";

/** One loaded component: its config now, each tensor's bytes when asked for. */
export interface LoadedComponent {
  /** Folder name in the pipeline ("unet"), or "" for a checkpoint at the root. */
  name: string;
  config: Record<string, unknown>;
  weights: WeightFiles;
  /** `__metadata__` of each weight file, by file. */
  metadata: Map<string, Record<string, string>>;
  tensors: Map<string, LazyTensor>;
  /** Closes the file handles or connections behind the tensors. */
  close(): Promise<void>;
}

export interface LoadComponentOptions {
  /** Weight variant, e.g. "fp16" for `diffusion_pytorch_model.fp16.safetensors`. */
  variant?: string;
  /** Expected names → shapes; any missing, unexpected or misshapen tensor is an error listing them. */
  expected?: Record<string, readonly number[]>;
  /** The component's config when the caller has read it already (readComponentConfig), so it is not read twice. */
  config?: Record<string, unknown>;
}

const CONFIG_NAMES = ["config.json", "scheduler_config.json"];

/** A component's config.json (scheduler_config.json for a scheduler), checked to be a JSON object. */
export async function readComponentConfig(source: WeightSource, component: string): Promise<Record<string, unknown>> {
  for (const name of CONFIG_NAMES) {
    const path = component ? `${component}/${name}` : name;
    if (!(await source.exists(path))) continue;
    let json: unknown;
    try {
      json = JSON.parse(await source.readText(path));
    } catch (e) {
      throw new WeightsLoadError(`not valid JSON (${(e as Error).message})`, source.locate(path));
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) throw new WeightsLoadError("config is not a JSON object", source.locate(path));
    return json as Record<string, unknown>;
  }
  throw new WeightsLoadError(`no ${CONFIG_NAMES.join(" or ")}`, locateFolder(source, component));
}

/**
 * Loads a component's config and opens its weight file(s) lazily: only headers are read. For sharded
 * weights, every tensor must sit in the shard the index names, and every shard tensor must be listed.
 */
export async function loadComponent(source: WeightSource, component: string, options: LoadComponentOptions = {}): Promise<LoadedComponent> {
  const config = options.config ?? (await readComponentConfig(source, component));
  const weights = await findWeightFiles(source, component, options.variant);
  const files = weights.kind === "single" ? [weights.file] : weights.shards;
  const opened: ByteSource[] = [];
  const close = async () => {
    await Promise.all(opened.map((s) => s.close?.()));
  };
  const tensors = new Map<string, LazyTensor>();
  const metadata = new Map<string, Record<string, string>>();
  try {
    for (const file of files) {
      const src = await source.open(file);
      opened.push(src);
      const st = await openSafetensors(src, source.locate(file));
      metadata.set(file, st.metadata);
      for (const [name, t] of st.tensors) {
        if (tensors.has(name)) throw new WeightsLoadError(`tensor "${name}" is in both ${tensors.get(name)!.file} and ${t.file}`, locateFolder(source, component));
        tensors.set(name, t);
      }
    }
    if (weights.kind === "sharded") checkShardsAgainstIndex(weights, tensors, files, source);
    if (options.expected) assertTensorsMatch(options.expected, tensors, locateFolder(source, component));
  } catch (e) {
    await close();
    throw e;
  }
  return { name: component, config, weights, metadata, tensors, close };
}

function checkShardsAgainstIndex(weights: Extract<WeightFiles, { kind: "sharded" }>, tensors: Map<string, LazyTensor>, files: string[], source: WeightSource): void {
  const fileOf = new Map<string, string>(); // locate(file) → relative file
  for (const f of files) fileOf.set(source.locate(f), f);
  const shardOf = new Map([...tensors.values()].map((t) => [t.name, fileOf.get(t.file) ?? t.file]));
  const problem = shardIndexProblem(weights.weightMap, shardOf);
  if (problem) throw new WeightsLoadError(problem, source.locate(weights.indexFile));
}

/**
 * What is wrong between a shard index's weight_map and the tensors the shards hold (`shardOf`: tensor → relative shard
 * file), or null: every listed tensor in a shard, every shard tensor listed, each in the shard the map names.
 */
export function shardIndexProblem(weightMap: ReadonlyMap<string, string>, shardOf: ReadonlyMap<string, string>): string | null {
  const notInShards = [...weightMap.keys()].filter((n) => !shardOf.has(n));
  if (notInShards.length) return `${notInShards.length} tensor(s) in weight_map are in no shard: ${listNames(notInShards)}`;
  const unlisted = [...shardOf.keys()].filter((n) => !weightMap.has(n));
  if (unlisted.length) return `${unlisted.length} shard tensor(s) missing from weight_map: ${listNames(unlisted)}`;
  const misplaced = [...shardOf].filter(([n, f]) => f !== weightMap.get(n)).map(([n]) => n);
  if (misplaced.length) return `${misplaced.length} tensor(s) are not in the shard weight_map names: ${listNames(misplaced)}`;
  return null;
}

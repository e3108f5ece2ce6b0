import { WeightsLoadError } from "../errors.ts";
import type { WeightSource } from "../sources/types.ts";
import { checkRelativePath, locateFolder } from "../sources/types.ts";

/** The stems diffusers (models) and transformers (text encoders, safety checker) save weights under. */
export const WEIGHT_STEMS = ["diffusion_pytorch_model", "model"] as const;

/** How one component's weights are stored. */
export type WeightFiles =
  | { kind: "single"; file: string }
  | { kind: "sharded"; indexFile: string; shards: string[]; weightMap: Map<string, string> };

/**
 * The file names a component's weights may have, in the order we look for them. Variant names follow
 * diffusers/transformers: `model.fp16.safetensors`, and for sharded weights the index
 * `model.safetensors.index.fp16.json` (we also accept `model.fp16.safetensors.index.json`).
 */
export function weightFileCandidates(variant?: string): { single: string[]; index: string[] } {
  const single: string[] = [];
  const index: string[] = [];
  for (const stem of WEIGHT_STEMS) {
    if (variant) {
      single.push(`${stem}.${variant}.safetensors`);
      index.push(`${stem}.safetensors.index.${variant}.json`, `${stem}.${variant}.safetensors.index.json`);
    } else {
      single.push(`${stem}.safetensors`);
      index.push(`${stem}.safetensors.index.json`);
    }
  }
  return { single, index };
}

const join = (dir: string, file: string) => (dir ? `${dir}/${file}` : file);
const dirOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

/** Parses a `*.safetensors.index.json`: `{ metadata?: {...}, weight_map: { tensor: shard file } }`. */
export function parseShardIndex(text: string, indexPath: string, where: string): { shards: string[]; weightMap: Map<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightsLoadError(`shard index is not valid JSON (${(e as Error).message})`, where);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    throw new WeightsLoadError(`shard index has no "weight_map" object`, where);
  }
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string" || !file.endsWith(".safetensors")) {
      throw new WeightsLoadError(`weight_map["${name}"] is ${JSON.stringify(file)}, expected a .safetensors file name`, where);
    }
    // Shard names are relative to the index's folder and must stay inside the checkpoint.
    weightMap.set(name, checkRelativePath(join(dirOf(indexPath), file), where));
  }
  if (weightMap.size === 0) throw new WeightsLoadError("shard index lists no tensors", where);
  return { shards: [...new Set(weightMap.values())].sort(), weightMap };
}

/** Finds a component's weight files: a single file first, else a shard index. */
export async function findWeightFiles(source: WeightSource, component: string, variant?: string): Promise<WeightFiles> {
  const { single, index } = weightFileCandidates(variant);
  for (const name of single) {
    const path = join(component, name);
    if (await source.exists(path)) return { kind: "single", file: path };
  }
  for (const name of index) {
    const path = join(component, name);
    if (await source.exists(path)) {
      const parsed = parseShardIndex(await source.readText(path), path, source.locate(path));
      return { kind: "sharded", indexFile: path, ...parsed };
    }
  }
  // Say what is there instead, where it explains the miss: another variant, or only PyTorch pickles.
  let hint = "";
  if (!variant && (await source.exists(join(component, weightFileCandidates("fp16").single[0]!)))) hint = `; there are fp16 weights: pass variant "fp16" (--variant fp16)`;
  else {
    const v = variant ? `.${variant}` : "";
    for (const bin of [`diffusion_pytorch_model${v}.bin`, `pytorch_model${v}.bin`]) {
      if (await source.exists(join(component, bin))) {
        hint = `; there is ${bin}, a PyTorch pickle, which is not read (pickles can run code): convert it to safetensors`;
        break;
      }
    }
  }
  throw new WeightsLoadError(
    `no weights${variant ? ` for variant "${variant}"` : ""}: looked for ${[...single, ...index].join(", ")}${hint}`,
    locateFolder(source, component),
  );
}

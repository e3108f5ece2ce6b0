/**
 * A diffusers component's weights (single file or shards) as a TensorSource that reads one tensor at
 * a time by offset. File discovery is the weights layer's (`findWeightFiles`); this only opens them.
 */
import { join } from "node:path";
import { shardIndexProblem } from "../weights/diffusers/component.ts";
import { findWeightFiles } from "../weights/diffusers/weight-files.ts";
import { nodeFolderSource } from "../weights/sources/node-folder-source.ts";
import type { TensorSource } from "./pack.ts";
import { openTensorFile, type TensorFileReader } from "./tensor-file.ts";

export interface ComponentSource {
  source: TensorSource;
  /** Weight files opened, relative to the model folder. */
  files: string[];
  close(): void;
}

export async function openComponentSource(folder: string, component: string, variant?: string): Promise<ComponentSource> {
  const found = await findWeightFiles(nodeFolderSource(folder), component, variant);
  const files = found.kind === "single" ? [found.file] : found.shards;
  const readers: TensorFileReader[] = [];
  try {
    for (const f of files) readers.push(openTensorFile(join(folder, f)));
  } catch (e) {
    for (const r of readers) r.close();
    throw e;
  }
  const owner = new Map<string, TensorFileReader>();
  const shardOf = new Map<string, string>();
  const specs: TensorSource["specs"] = [];
  try {
    readers.forEach((r, i) => {
      for (const e of r.entries) {
        if (owner.has(e.name)) throw new Error(`${component}: tensor "${e.name}" is in both ${owner.get(e.name)!.path} and ${r.path}`);
        owner.set(e.name, r);
        shardOf.set(e.name, files[i]!);
        specs.push({ name: e.name, dtype: e.dtype, shape: [...e.shape] });
      }
    });
    // The loader's own checks of a shard index: a pack must not silently drop or take in a tensor the index disagrees on.
    const problem = found.kind === "sharded" ? shardIndexProblem(found.weightMap, shardOf) : null;
    if (problem) throw new Error(`${join(folder, found.kind === "sharded" ? found.indexFile : "")}: ${problem}`);
  } catch (e) {
    for (const r of readers) r.close();
    throw e;
  }
  return {
    files,
    source: {
      specs,
      read: (name) => {
        const r = owner.get(name);
        if (!r) throw new Error(`${component}: no tensor "${name}" in ${files.join(", ")}`);
        return r.read(name);
      },
    },
    close: () => readers.forEach((r) => r.close()),
  };
}

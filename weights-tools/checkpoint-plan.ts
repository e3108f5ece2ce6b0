import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { parseTensorIndex } from "../src/weights/diffusers/check.ts";
import { isSafetensorsDtype, type SafetensorsDtype } from "../src/weights/safetensors/dtypes.ts";

/** Name of the tensor index next to a component's config in /work/shared/configs-style folders. */
export const TENSOR_INDEX_FILE = "tensors.json";

/** One component to write: where its config is, which tensors it has, which stem its weights use. */
export interface ComponentPlan {
  /** Folder inside the output ("unet"), "" for a checkpoint at the root. */
  dir: string;
  /** "diffusion_pytorch_model" for diffusers models, "model" for transformers models. */
  stem: string;
  tensors: { name: string; shape: number[]; dtype: SafetensorsDtype }[];
}

/** What make-random will write: files to copy as they are and components to fill with random weights. */
export interface CheckpointPlan {
  root: string;
  copies: string[];
  components: ComponentPlan[];
  /** Components that have a model config but no tensor index (cannot be made; reported to the user). */
  withoutIndex: string[];
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Plans a random checkpoint from `configPath`: a model folder (model_index.json, one sub-folder per
 * component), a component folder, or a component's config.json. Components are the folders holding
 * a `tensors.json`; a model config (`config.json` with `_class_name` or `architectures`) without one
 * is listed in `withoutIndex`.
 */
export function planCheckpoint(configPath: string): CheckpointPlan {
  if (!existsSync(configPath)) throw new Error(`--config ${configPath} does not exist`);
  const root = statSync(configPath).isDirectory() ? configPath : dirname(configPath);
  if (!statSync(configPath).isDirectory() && basename(configPath) !== "config.json") {
    throw new Error(`--config expects a folder or a config.json, got ${configPath}`);
  }
  const files = walk(root).map((f) => relative(root, f).split("\\").join("/"));
  const copies = files.filter((f) => basename(f) !== TENSOR_INDEX_FILE && !f.endsWith(".safetensors") && !f.includes(".safetensors."));
  const components: ComponentPlan[] = [];
  const withoutIndex: string[] = [];
  for (const f of files.filter((f) => basename(f) === "config.json")) {
    const dir = f.includes("/") ? f.slice(0, f.lastIndexOf("/")) : "";
    const config = JSON.parse(readFileSync(join(root, f), "utf8")) as Record<string, unknown>;
    const indexPath = join(root, dir, TENSOR_INDEX_FILE);
    if (!existsSync(indexPath)) {
      if (config._class_name || config.architectures) withoutIndex.push(dir || ".");
      continue;
    }
    const { shapes, dtypes } = parseTensorIndex(JSON.parse(readFileSync(indexPath, "utf8")), indexPath);
    const tensors = Object.keys(shapes).map((name) => {
      const dtype = dtypes[name]!;
      if (!isSafetensorsDtype(dtype)) throw new Error(`${indexPath}: tensor "${name}" has unknown dtype ${dtype}`);
      return { name, shape: shapes[name]!, dtype };
    });
    // diffusers writes `_diffusers_version` into every model config; transformers configs have none.
    const stem = "_diffusers_version" in config ? "diffusion_pytorch_model" : "model";
    components.push({ dir, stem, tensors });
  }
  return { root, copies, components, withoutIndex };
}

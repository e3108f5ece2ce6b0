/**
 * Loading one diffusers component (config.json + weights) from a pipeline folder for the activation
 * verifiers, including the shipped fixture subsets whose token table is stored sparsely.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsFileSync } from "../../weights/safetensors/node-file.ts";
import { weightSourceFrom, type WeightSource } from "../../models/weights.ts";

/** Suffixes of a sparse token table: `<table>.ids` [n] I32 and `<table>.rows` [n, D] stand for `<table>` [V, D]. */
const SPARSE_IDS = ".sparse_ids";
const SPARSE_ROWS = ".sparse_rows";

export function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`verify: missing ${path}`);
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** The weight file of a component folder: model.safetensors / diffusion_pytorch_model.safetensors, else its only *.safetensors. */
export function componentWeightFile(dir: string): string {
  for (const f of ["model.safetensors", "diffusion_pytorch_model.safetensors"]) if (existsSync(join(dir, f))) return join(dir, f);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".safetensors")) : [];
  if (files.length !== 1) throw new Error(`verify: expected one .safetensors weight file in ${dir}, found ${files.length ? files.join(", ") : "none"}`);
  return join(dir, files[0]!);
}

/**
 * A WeightSource over a component's weight file. A table stored as `<name>.sparse_ids` + `<name>.sparse_rows`
 * (fixture subsets keep only the token rows their cases use) is served as the full `<name>` [rows, D] with zero
 * rows elsewhere; `fullRows` gives the full row count (the config's vocab_size). A model that reads an id
 * outside the stored set sees a zero row, so its outputs would not match the stored activations.
 */
export function componentSource(dir: string, fullRows?: number): WeightSource {
  const path = componentWeightFile(dir);
  const st = readSafetensorsFileSync(path);
  const base = weightSourceFrom(path, st);
  const sparse = base.names().filter((n) => n.endsWith(SPARSE_IDS)).map((n) => n.slice(0, -SPARSE_IDS.length));
  if (!sparse.length) return base;
  if (fullRows === undefined) throw new Error(`verify: ${path} stores a sparse table but no full row count was given`);
  const hidden = new Set(sparse.flatMap((n) => [n + SPARSE_IDS, n + SPARSE_ROWS]));
  const expand = (name: string): Float32Array => {
    const ids = st.typed(name + SPARSE_IDS) as Int32Array;
    const rows = st.f32(name + SPARSE_ROWS);
    const d = rows.length / ids.length;
    const out = new Float32Array(fullRows * d);
    ids.forEach((id, i) => out.set(rows.subarray(i * d, (i + 1) * d), id * d));
    return out;
  };
  return {
    where: path,
    names: () => [...base.names().filter((n) => !hidden.has(n)), ...sparse],
    has: (n) => sparse.includes(n) || (!hidden.has(n) && base.has(n)),
    shape: (n) => (sparse.includes(n) ? [fullRows, base.shape(n + SPARSE_ROWS)[1]!] : base.shape(n)),
    f32: (n) => (sparse.includes(n) ? expand(n) : base.f32(n)),
  };
}

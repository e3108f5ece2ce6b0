import type { Defines } from "./shader-preprocess.ts";

/**
 * A kernel: one `.wgsl` file plus a typed specialization key. `defines(key)` turns the key into
 * preprocessor defines (dtype aliases, feature switches, tile sizes); `label(key)` names the
 * pipeline (e.g. `activation_silu_f16`) and is the cache key together with the file.
 */
export interface KernelSpec<Key> {
  /** Kernel name used in labels and errors. */
  name: string;
  /** Path relative to shaders/. */
  file: string;
  entryPoint?: string;
  defines(key: Key): Defines;
  label(key: Key): string;
}

export function defineKernel<Key>(spec: KernelSpec<Key>): KernelSpec<Key> {
  return spec;
}

/** The defines every kernel gets for an element type: `ELEM` (storage type) and `F16` (enables the extension). */
export function dtypeDefines(dtype: "f32" | "f16"): Defines {
  return { ELEM: dtype, F16: dtype === "f16" };
}

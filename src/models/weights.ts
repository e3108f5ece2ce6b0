import { OpInputError } from "../gpu/errors.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import type { QuantizedWeight } from "../ops/quant-weight.ts";
import type { QuantizedLinears } from "./quantized-linears.ts";

/** Where a model's float tensors come from (a safetensors file, a diffusers component, a pack). */
export interface WeightSource {
  /** Description for errors (e.g. the file path). */
  where: string;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): number[];
  /** The tensor as float32 (F16/BF16 widened). */
  f32(name: string): Float32Array;
}

/**
 * A WeightSource whose tensor bytes are read on demand (streaming load): `fetch(name)` reads one
 * tensor so that `f32(name)` can return it, `release(name)` drops the bytes again. Models' async
 * `loadStreaming` fetch, upload and release each tensor in turn, in file order, so the CPU holds one
 * tensor at a time instead of a whole component. `f32` of a tensor not fetched is an error.
 */
export interface StreamingWeightSource extends WeightSource {
  fetch(name: string): Promise<void>;
  release(name: string): void;
}

export function isStreaming(source: WeightSource): source is StreamingWeightSource {
  return typeof (source as Partial<StreamingWeightSource>).fetch === "function";
}

/**
 * Runs `step(name)` for each full name in order; over a streaming source each tensor is fetched just
 * before its step and released just after it, so at most one is held. `signal` aborts between tensors.
 */
export async function streamEach(source: WeightSource, names: readonly string[], step: (name: string) => void, signal?: AbortSignal): Promise<void> {
  for (const n of names) {
    signal?.throwIfAborted();
    if (isStreaming(source)) await source.fetch(n);
    try {
      step(n);
    } finally {
      if (isStreaming(source)) source.release(n);
    }
  }
}

/** A WeightSource over any reader with the SafetensorsInMemory / LoadedSafetensors shape. */
export function weightSourceFrom(where: string, st: { entries: Map<string, unknown>; shape(n: string): number[]; f32(n: string): Float32Array }): WeightSource {
  return {
    where,
    names: () => [...st.entries.keys()],
    has: (n) => st.entries.has(n),
    shape: (n) => st.shape(n),
    f32: (n) => st.f32(n),
  };
}

/**
 * A model's weights on the GPU, uploaded on first request by checkpoint name. Shapes are checked
 * against what the model code expects (the error names the tensor and both shapes), and `unused()`
 * lists tensors the model never asked for, so a checkpoint/config mismatch is an error, not a
 * silently wrong model.
 */
export class ModelWeights {
  private uploaded = new Map<string, Tensor>();
  private requested = new Set<string>();
  /** nn.Linear weights quantized at load (or read from a pack), by full module name; owned from `setQuantized` on. */
  private quantized: QuantizedLinears | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly source: WeightSource,
    /** Storage type of float weights on the GPU. */
    readonly dtype: "f32" | "f16" = "f32",
    /** Prefix prepended to every name (e.g. "text_model." or "decoder."). */
    readonly prefix = "",
  ) {}

  /** A view of the same weights under a name prefix (e.g. `w.scope("down_blocks.0.")`). */
  scope(prefix: string): ModelWeights {
    const child = Object.create(this) as ModelWeights;
    (child as { prefix: string }).prefix = this.prefix + prefix;
    return child;
  }

  has(name: string): boolean {
    return this.source.has(this.prefix + name);
  }

  shape(name: string): number[] {
    return this.source.shape(this.prefix + name);
  }

  /** The GPU tensor for `name`; `expected` shape (if given) must match exactly. */
  get(name: string, expected?: readonly number[]): Tensor {
    const full = this.prefix + name;
    this.requested.add(full);
    let t = this.uploaded.get(full);
    if (!t) {
      if (!this.source.has(full)) throw new OpInputError("weights", `${this.source.where}: missing tensor "${full}"`);
      const shape = this.source.shape(full);
      if (expected && (shape.length !== expected.length || shape.some((d, i) => d !== expected[i]))) {
        throw new OpInputError("weights", `${this.source.where}: tensor "${full}" has shape [${shape.join(", ")}], the model config expects [${expected.join(", ")}]`);
      }
      // Weights live as long as the model: exact-size buffers, no size-class slack. A weight may exceed one storage
      // binding (CLIP's token table in f32: 152-253 MB, lavapipe binds 128 MiB): gatherRows reads such tables by
      // buffer copies, and a kernel that would bind one fails at its dispatch, naming it.
      t = this.gpu.upload(this.source.f32(full), shape, this.dtype, full, { exact: true, unbound: true });
      this.uploaded.set(full, t);
    } else if (expected && (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))) {
      throw new OpInputError("weights", `${this.source.where}: tensor "${full}" has shape [${t.shape.join(", ")}], the model config expects [${expected.join(", ")}]`);
    }
    return t;
  }

  /**
   * Uploads the tensors `names` (relative to the prefix) in order, as `get` would; from a streaming
   * source each one's bytes are fetched just before and dropped just after. On failure or abort every
   * weight uploaded so far is freed.
   */
  async uploadAll(names: readonly string[], signal?: AbortSignal): Promise<void> {
    try {
      await streamEach(this.source, names.map((n) => this.prefix + n), (full) => this.get(full.slice(this.prefix.length)), signal);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * Hands over the model's quantized linears (keyed by full module name, e.g. "text_model.encoder.layers.0.mlp.fc1"):
   * `quantizedLinear` finds them by the same scoped names as `get`, and `dispose` frees them.
   */
  setQuantized(q: QuantizedLinears): void {
    this.quantized = q;
  }

  /** The quantized weight of nn.Linear `module` (relative to the prefix), or undefined when it stayed float. */
  quantizedLinear(module: string): QuantizedWeight | undefined {
    return this.quantized?.weights.get(this.prefix + module);
  }

  /** Number of quantized linears (0 for a float model). */
  get quantizedCount(): number {
    return this.quantized?.weights.size ?? 0;
  }

  /** Tensors (under this prefix) the model never requested. */
  unused(): string[] {
    return this.source.names().filter((n) => n.startsWith(this.prefix) && !this.requested.has(n));
  }

  /** Bytes of weights uploaded so far. */
  get bytes(): number {
    let b = 0;
    for (const t of this.uploaded.values()) b += t.byteLength;
    for (const q of this.quantized?.weights.values() ?? []) b += q.codes.byteLength + q.scales.byteLength + (q.zeroPoints?.byteLength ?? 0);
    return b;
  }

  dispose(): void {
    for (const t of this.uploaded.values()) t.dispose();
    this.uploaded.clear();
    this.quantized?.dispose();
    this.quantized = null;
  }
}

import type { StreamingWeightSource, WeightSource as TensorSource } from "../models/weights.ts";
import { bytesToFloat32 } from "../weights/safetensors/convert.ts";
import type { LoadedComponent } from "../weights/diffusers/component.ts";

/**
 * Reads a component's tensors (lazily opened safetensors) into a source the models upload from.
 * Bytes are held per tensor until the model uploads them; `release()` drops them after upload so
 * the CPU copy lives only while the component loads. For small components (CLIP scorer); model
 * loads stream instead (`streamComponent`), holding one tensor at a time.
 */
export async function tensorSourceOf(component: LoadedComponent, onBytes?: (n: number) => void): Promise<TensorSource & { release(): void }> {
  const bytes = new Map<string, { dtype: Parameters<typeof bytesToFloat32>[0]; shape: number[]; data: Uint8Array }>();
  for (const [name, t] of component.tensors) {
    const data = await t.read();
    bytes.set(name, { dtype: t.dtype, shape: t.shape, data });
    onBytes?.(data.byteLength);
  }
  const where = component.name || "checkpoint";
  const entry = (name: string) => {
    const e = bytes.get(name);
    if (!e) throw new Error(`${where}: missing tensor "${name}"`);
    return e;
  };
  return {
    where,
    names: () => [...component.tensors.keys()],
    has: (n) => component.tensors.has(n),
    shape: (n) => [...(component.tensors.get(n)?.shape ?? entry(n).shape)],
    f32: (n) => {
      const e = entry(n);
      return bytesToFloat32(e.dtype, e.data);
    },
    release: () => bytes.clear(),
  };
}

/**
 * Bytes that streaming sources (`streamComponent`, the pack stream in load-unet.ts) have read and not
 * yet released, over all streams of this process, and the peak since `resetPeak()`: how much tensor
 * data the CPU held at once during a load (tests and benchmarks read it).
 */
export const streamedBytes = {
  held: 0,
  peak: 0,
  resetPeak(): void {
    this.peak = this.held;
  },
  /** @internal */
  add(n: number): void {
    this.held += n;
    this.peak = Math.max(this.peak, this.held);
  },
};

/** Progress in file order: bytes of every tensor up to and including the last one fetched. */
export function fileOrderProgress(sizes: Iterable<[string, number]>, onBytes?: (done: number, total: number) => void) {
  const upTo = new Map<string, number>();
  let total = 0;
  for (const [name, n] of sizes) upTo.set(name, (total += n));
  let done = 0;
  return {
    total,
    fetched(name: string): void {
      done = Math.max(done, upTo.get(name) ?? 0);
      onBytes?.(done, total);
    },
    /** Tensors the model does not use (a VAE's encoder) are never read: report them done at the end. */
    finish(): void {
      if (done < total) onBytes?.((done = total), total);
    },
  };
}

/**
 * A streaming source over a lazily opened component: `fetch(name)` reads that one tensor's bytes,
 * `f32(name)` widens them, `release(name)` drops them. Models' `loadStreaming` go through it in file
 * order, so the CPU holds one tensor at a time, never the component. `finish()` reports the last
 * progress; the component's files are closed by its owner.
 */
export function streamComponent(component: LoadedComponent, onBytes?: (done: number, total: number) => void): StreamingWeightSource & { finish(): void } {
  const where = component.name || "checkpoint";
  const held = new Map<string, Uint8Array>();
  const progress = fileOrderProgress([...component.tensors].map(([n, t]) => [n, t.byteLength]), onBytes);
  const tensor = (name: string) => {
    const t = component.tensors.get(name);
    if (!t) throw new Error(`${where}: missing tensor "${name}"`);
    return t;
  };
  return {
    where,
    names: () => [...component.tensors.keys()],
    has: (n) => component.tensors.has(n),
    shape: (n) => [...tensor(n).shape],
    async fetch(name) {
      if (held.has(name)) return;
      const data = await tensor(name).read();
      held.set(name, data);
      streamedBytes.add(data.byteLength);
      progress.fetched(name);
    },
    release(name) {
      const data = held.get(name);
      if (!data) return;
      held.delete(name);
      streamedBytes.held -= data.byteLength;
    },
    f32(name) {
      const t = tensor(name);
      const data = held.get(name);
      if (!data) throw new Error(`${where}: tensor "${name}" was not fetched (a streaming source reads one tensor at a time: fetch, upload, release)`);
      return bytesToFloat32(t.dtype, data);
    },
    finish: () => progress.finish(),
  };
}

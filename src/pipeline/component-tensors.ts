import type { WeightSource as TensorSource } from "../models/weights.ts";
import { bytesToFloat32 } from "../weights/safetensors/convert.ts";
import type { LoadedComponent } from "../weights/diffusers/component.ts";

/**
 * Reads a component's tensors (lazily opened safetensors) into a source the models upload from.
 * Bytes are held per tensor until the model uploads them; `release()` drops them after upload so
 * the CPU copy lives only while the component loads (one component at a time).
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

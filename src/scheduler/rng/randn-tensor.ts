import type { TorchGenerator } from "./torch-generator.ts";

/**
 * diffusers `randn_tensor(shape, generator)` on the CPU in float32: one generator draws the whole shape; a list of
 * generators draws batch item b with generator[b] as `randn((1, ...shape[1:]))` and concatenates (a list of one
 * behaves like a single generator).
 */
export function randnTensor(shape: readonly number[], generator: TorchGenerator | TorchGenerator[]): Float32Array {
  if (!Array.isArray(generator)) return generator.randn(shape);
  if (generator.length === 1) return generator[0]!.randn(shape);
  const batch = shape[0];
  if (batch === undefined || generator.length !== batch) {
    throw new Error(`randn_tensor: got ${generator.length} generators for batch size ${String(batch)} (shape [${shape}])`);
  }
  const itemShape = [1, ...shape.slice(1)];
  const parts = generator.map((g) => g.randn(itemShape));
  const per = parts[0]?.length ?? 0;
  const out = new Float32Array(per * batch);
  parts.forEach((p, b) => out.set(p, b * per));
  return out;
}

import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { OpInputError } from "../gpu/errors.ts";
import type { DType } from "../gpu/dtype.ts";

/** Threads per workgroup of the 1-D elementwise kernels (WG_SIZE in their WGSL). */
export const ELEMENTWISE_WG = 256;

export type FloatDType = "f32" | "f16";

/**
 * Workgroup grid for `count` threads in workgroups of `wg`: one row of up to the adapter's
 * per-dimension limit, then more rows (the kernels' flat_index undoes this).
 */
export function gridFor(gpu: Gpu, count: number, wg = ELEMENTWISE_WG): [number, number] {
  const groups = Math.ceil(count / wg);
  const max = gpu.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

/** Throws unless `t` is a float tensor the adapter can compute on; returns its dtype. */
export function floatDType(gpu: Gpu, op: string, name: string, t: Tensor): FloatDType {
  if (t.dtype !== "f32" && t.dtype !== "f16") throw new OpInputError(op, `${name} must be f32 or f16, got ${t.dtype}`);
  if (t.dtype === "f16" && !gpu.ctx.caps.f16) throw new OpInputError(op, `${name} is f16 but this adapter has no shader-f16`);
  return t.dtype;
}

export function sameDType(op: string, tensors: Record<string, Tensor>): DType {
  const entries = Object.entries(tensors);
  const first = entries[0]![1].dtype;
  for (const [name, t] of entries) {
    if (t.dtype !== first) throw new OpInputError(op, `all inputs must share a dtype; ${entries[0]![0]} is ${first} but ${name} is ${t.dtype}`);
  }
  return first;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function expectRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) throw new OpInputError(op, `${name} must have rank ${rank}, got shape ${shapeStr(t.shape)}`);
}

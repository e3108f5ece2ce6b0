/**
 * Splitting row-wise work whose widest intermediate would not fit one storage binding: the rows of [R, C] tensors are
 * cut into blocks that can be bound at aligned offsets, processed one block at a time, and the results joined. Used
 * where a model's widest tensor is a per-row expansion (the UNet's GEGLU feed-forward: 8·C values per token).
 */
import type { Gpu } from "../gpu/runtime.ts";
import { Tensor } from "../gpu/tensor.ts";
import { storageBytes } from "../gpu/dtype.ts";
import { concatChannels } from "./concat.ts";

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Row ranges [start, count) covering `rows`, each small enough that `widestRowBytes · count` fits one storage binding,
 * and each start a row at which views of rows `viewRowBytes` wide begin on the adapter's storage-offset alignment.
 * One range when everything fits. `bindingBytes` replaces the adapter's limit (tests).
 */
export function rowBlocks(gpu: Gpu, rows: number, widestRowBytes: number, viewRowBytes: number, bindingBytes?: number): Array<{ start: number; count: number }> {
  const { minStorageBufferOffsetAlignment: align } = gpu.ctx.caps.limits;
  const maxBinding = bindingBytes ?? gpu.ctx.caps.limits.maxStorageBufferBindingSize;
  if (rows * widestRowBytes <= maxBinding) return [{ start: 0, count: rows }];
  // Smallest row step whose byte offset is a multiple of the alignment.
  const step = align / gcd(align, viewRowBytes);
  const perBlock = Math.floor(maxBinding / widestRowBytes / step) * step;
  if (perBlock < 1) throw new Error(`row blocks: ${step} rows of ${widestRowBytes} bytes exceed maxStorageBufferBindingSize ${maxBinding}`);
  const out: Array<{ start: number; count: number }> = [];
  for (let start = 0; start < rows; start += perBlock) out.push({ start, count: Math.min(perBlock, rows - start) });
  return out;
}

/** Rows [start, start + count) of `t` viewed as [R, C] (C = last dim), as a view of shape [count, C]. */
export function rowsOf(t: Tensor, start: number, count: number): Tensor {
  const c = t.shape[t.rank - 1]!;
  const rowBytes = storageBytes([c], t.dtype);
  return new Tensor([count, c], t.dtype, t.binding().buffer, t.byteOffset + start * rowBytes, storageBytes([count, c], t.dtype));
}

/** Joins [Ri, C] tensors (taking them over) into one [ΣRi, C], pairwise so each value is copied about log2(n) times. */
export async function joinRows(gpu: Gpu, parts: Tensor[]): Promise<Tensor> {
  let level = parts;
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const [a, b] = [level[i]!, level[i + 1]];
      if (!b) {
        next.push(a);
        continue;
      }
      const c = a.shape[1]!;
      const joined = await concatChannels(gpu, a.view([1, a.numel, 1, 1]), b.view([1, b.numel, 1, 1]));
      a.dispose();
      b.dispose();
      next.push(joined.reshape([(a.numel + b.numel) / c, c]));
    }
    level = next;
  }
  return level[0]!;
}


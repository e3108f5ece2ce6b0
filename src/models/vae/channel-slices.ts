/**
 * VAE activations larger than one storage binding, held as channel slices. lavapipe binds at most 128 MiB
 * (maxStorageBufferBindingSize, also WebGPU's default limit), while SD's 512² decode has 256 channels at 512²
 * (256 MiB in f32) and SDXL's 1024² decode 128 channels at 1024² (512 MiB). Each slice is a [B, C_i, H, W] tensor of
 * whole GroupNorm groups within the limit, so the decoder's ops run slice by slice with their usual kernels:
 * GroupNorm(+SiLU), SiLU, nearest upsampling and the residual add per slice, a conv as a sum over input slices with
 * its weight cut to each (output, input) slice pair. An activation that fits is one slice, and then every function
 * here is exactly the plain op (same dispatches, same numbers).
 */
import { GpuLimitError } from "../../gpu/errors.ts";
import type { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { silu } from "../../ops/activation.ts";
import { add } from "../../ops/binary.ts";
import { conv2d } from "../../ops/conv2d.ts";
import { groupNorm } from "../../ops/norms.ts";
import { upsampleNearest2x } from "../../ops/upsample.ts";
import type { VaeBlockContext } from "./blocks.ts";

/** One activation as channel slices, in channel order (each [B, C_i, H, W]). */
export type Slices = Tensor[];

/**
 * Channel counts of the slices of an activation with `channels` channels of `bytesPerChannel` bytes each (B·H·W
 * elements): one slice when it fits `limit`, else as few slices as fit, each whole groups of `groupChannels`,
 * as even as the groups allow.
 */
export function sliceChannels(channels: number, groupChannels: number, bytesPerChannel: number, limit: number): number[] {
  if (channels * bytesPerChannel <= limit) return [channels];
  const groupsPerSlice = Math.floor(limit / (groupChannels * bytesPerChannel));
  if (groupsPerSlice < 1) {
    throw new GpuLimitError(
      "maxStorageBufferBindingSize",
      `VAE: one group of ${groupChannels} channels takes ${groupChannels * bytesPerChannel} bytes, over the ${limit}-byte binding limit; use a smaller batch or image`,
    );
  }
  const groups = channels / groupChannels;
  const n = Math.ceil(groups / groupsPerSlice);
  const base = Math.floor(groups / n);
  return Array.from({ length: n }, (_, i) => (base + (i < groups % n ? 1 : 0)) * groupChannels);
}

/** Channels of a GroupNorm group in a layer of `channels` (1 for layers no norm reads, e.g. conv_out's 3). */
function groupChannelsOf(ctx: VaeBlockContext, channels: number): number {
  return channels % ctx.groups === 0 ? channels / ctx.groups : 1;
}

/** The slicing of a [b, c, h, w] activation of `x`'s dtype under the adapter's limit (or the tests' smaller one). */
function slicing(ctx: VaeBlockContext, like: Tensor, b: number, c: number, h: number, w: number): number[] {
  const limit = ctx.variants.maxSliceBytes ?? ctx.gpu.ctx.caps.limits.maxStorageBufferBindingSize;
  return sliceChannels(c, groupChannelsOf(ctx, c), b * h * w * elementBytes(like), limit);
}

const elementBytes = (t: Tensor) => t.byteLength / Math.max(t.numel, 1);
const channelsOf = (xs: Slices) => xs.reduce((s, x) => s + x.shape[1]!, 0);
const sameSizes = (xs: Slices, sizes: number[]) => xs.length === sizes.length && xs.every((x, i) => x.shape[1] === sizes[i]);

/** First channel of each slice. */
function starts(sizes: readonly number[]): number[] {
  let at = 0;
  return sizes.map((c) => ((at += c), at - c));
}

export function disposeSlices(xs: Slices): void {
  for (const x of xs) x.dispose();
}

/** Runs `make` per item, disposing what was made if one fails. */
async function mapSlices<T>(items: readonly T[], make: (item: T, i: number) => Promise<Tensor>): Promise<Slices> {
  const out: Slices = [];
  try {
    for (let i = 0; i < items.length; i++) out.push(await make(items[i]!, i));
    return out;
  } catch (e) {
    disposeSlices(out);
    throw e;
  }
}

/** `xs` regrouped into slices of `sizes` channels (a copy; nothing is disposed). */
export async function resliced(gpu: Gpu, xs: Slices, sizes: readonly number[]): Promise<Slices> {
  const [b, , h, w] = xs[0]!.shape as [number, number, number, number];
  const hw = h * w;
  const from = starts(xs.map((x) => x.shape[1]!));
  return mapSlices(starts(sizes), async (t0, j) => {
    const tc = sizes[j]!;
    const y = gpu.empty([b, tc, h, w], xs[0]!.dtype, "vae_slice");
    xs.forEach((x, i) => {
      const [s0, sc] = [from[i]!, x.shape[1]!];
      const lo = Math.max(t0, s0);
      const hi = Math.min(t0 + tc, s0 + sc);
      if (lo >= hi) return;
      const regions = Array.from({ length: b }, (_, n) => ({ src: (n * sc + lo - s0) * hw, dst: (n * tc + lo - t0) * hw, count: (hi - lo) * hw }));
      gpu.copyRegions(x, y, regions);
    });
    return y;
  });
}

/** The whole activation as one tensor (for hooks and the image); fails, naming the limit, where it cannot be bound. */
export async function joined(gpu: Gpu, xs: Slices): Promise<{ t: Tensor; owned: boolean }> {
  if (xs.length === 1) return { t: xs[0]!, owned: false };
  return { t: (await resliced(gpu, xs, [channelsOf(xs)]))[0]!, owned: true };
}

/**
 * Rows [o0, o1) and input channels [i0, i1) of a conv weight [Cout, Cin, kh, kw], or entries [o0, o1) of a vector,
 * copied once and kept in `ctx.weightSlices` (freed when a decode slices otherwise, or with the decoder's weights).
 */
function weightSlice(ctx: VaeBlockContext, name: string, full: Tensor, o0: number, o1: number, i0 = 0, i1 = full.shape[1] ?? 1): Tensor {
  const [rows, cin] = [full.shape[0]!, full.shape[1] ?? 1];
  if (o0 === 0 && o1 === rows && i0 === 0 && i1 === cin) return full;
  const key = `${name}[${o0}:${o1}, ${i0}:${i1}]`;
  ctx.usedSlices.add(key);
  const cached = ctx.weightSlices.get(key);
  if (cached) return cached;
  const taps = full.rank === 4 ? full.shape[2]! * full.shape[3]! : 1;
  const shape = full.rank === 4 ? [o1 - o0, i1 - i0, full.shape[2]!, full.shape[3]!] : [o1 - o0];
  const t = ctx.gpu.empty(shape, full.dtype, `${name} slice`);
  const per = (i1 - i0) * taps;
  const regions = full.rank === 4 ? Array.from({ length: o1 - o0 }, (_, o) => ({ src: ((o0 + o) * cin + i0) * taps, dst: o * per, count: per })) : [{ src: o0, dst: 0, count: o1 - o0 }];
  ctx.gpu.copyRegions(full, t, regions);
  ctx.weightSlices.set(key, t);
  return t;
}

/** GroupNorm `module` (+ SiLU) per slice: a slice holds whole groups, so its statistics are the full layer's. */
export async function groupNormSlices(ctx: VaeBlockContext, module: string, xs: Slices, fuseSilu: boolean): Promise<Slices> {
  const c = channelsOf(xs);
  const gamma = ctx.weights.get(`${module}.weight`, [c]);
  const beta = ctx.weights.get(`${module}.bias`, [c]);
  const groupChannels = c / ctx.groups;
  const at = starts(xs.map((x) => x.shape[1]!));
  return mapSlices(xs, (x, i) => {
    const [c0, c1] = [at[i]!, at[i]! + x.shape[1]!];
    const g = weightSlice(ctx, `${module}.weight`, gamma, c0, c1);
    const b = weightSlice(ctx, `${module}.bias`, beta, c0, c1);
    return groupNorm(ctx.gpu, x, g, b, { groups: (c1 - c0) / groupChannels, eps: ctx.eps, silu: fuseSilu });
  });
}

export const siluSlices = (gpu: Gpu, xs: Slices): Promise<Slices> => mapSlices(xs, (x) => silu(gpu, x));

/**
 * nn.Conv2d `module` (square kernel, stride 1, "same" padding) on slices: output slice j is the sum over input
 * slices i of conv(x_i, W[j, i]) (+ the bias once). Summing slices changes the order of the K sum, so a sliced
 * layer matches the plain one to float32 rounding, not bit for bit.
 */
export async function convSlices(ctx: VaeBlockContext, module: string, xs: Slices, out: number, k: number): Promise<Slices> {
  const { gpu } = ctx;
  const cin = channelsOf(xs);
  const weight = ctx.weights.get(`${module}.weight`, [out, cin, k, k]);
  const bias = ctx.weights.get(`${module}.bias`, [out]);
  const conv = { stride: 1, padding: (k - 1) / 2 };
  const [b, , h, w] = xs[0]!.shape as [number, number, number, number];
  const outSizes = slicing(ctx, xs[0]!, b, out, h, w);
  if (xs.length === 1 && outSizes.length === 1) return [await conv2d(gpu, xs[0]!, weight, bias, conv)];
  const inStarts = starts(xs.map((x) => x.shape[1]!));
  return mapSlices(starts(outSizes), async (o0, j) => {
    const o1 = o0 + outSizes[j]!;
    let sum: Tensor | undefined;
    try {
      for (let i = 0; i < xs.length; i++) {
        const [i0, i1] = [inStarts[i]!, inStarts[i]! + xs[i]!.shape[1]!];
        const part = await conv2d(gpu, xs[i]!, weightSlice(ctx, `${module}.weight`, weight, o0, o1, i0, i1), i === 0 ? weightSlice(ctx, `${module}.bias`, bias, o0, o1) : null, conv);
        if (!sum) {
          sum = part;
          continue;
        }
        const next = await add(gpu, sum, part).finally(() => part.dispose());
        sum.dispose();
        sum = next;
      }
      return sum!;
    } catch (e) {
      sum?.dispose();
      throw e;
    }
  });
}

/** a + b slice by slice (b regrouped to a's slices first where they differ). */
export async function addSlices(gpu: Gpu, a: Slices, b: Slices): Promise<Slices> {
  const sizes = a.map((x) => x.shape[1]!);
  const bb = sameSizes(b, sizes) ? b : await resliced(gpu, b, sizes);
  try {
    return await mapSlices(a, (x, i) => add(gpu, x, bb[i]!));
  } finally {
    if (bb !== b) disposeSlices(bb);
  }
}

/** Nearest 2× upsampling, the input regrouped first into the slices the 4× larger output needs. */
export async function upsampleSlices(ctx: VaeBlockContext, xs: Slices): Promise<Slices> {
  const [b, , h, w] = xs[0]!.shape as [number, number, number, number];
  const sizes = slicing(ctx, xs[0]!, b, channelsOf(xs), 2 * h, 2 * w);
  const input = sameSizes(xs, sizes) ? xs : await resliced(ctx.gpu, xs, sizes);
  try {
    return await mapSlices(input, (x) => upsampleNearest2x(ctx.gpu, x));
  } finally {
    if (input !== xs) disposeSlices(input);
  }
}

/**
 * GPU block quantizers (shaders/quant_blocks.wgsl), bit-exact with the CPU reference in
 * src/quant/quantize.ts: `quantizeActivationsPerToken` (run-time, per row of x) and
 * `quantizeWeightOnGpu` (load time, per group of a [N, K] weight, packed for the linears).
 */
import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { int4NibbleOffset, resolveGroupSize, wordsPerRow, type IntRangeSpec, type QuantFormat } from "../quant/formats.ts";
import { floatDType, gridFor, shapeStr, type FloatDType } from "./common.ts";
import { hasCpuSubgroupKernels } from "./matmul-kernel.ts";
import { codesShape, type QuantizedWeight } from "./quant-weight.ts";

/** Threads per block; blocks are 32..1280 elements, so 64 keeps short blocks from idling most threads. */
const QUANT_WG = 64;
/**
 * On CPU adapters with 8-lane subgroups a block is one subgroup reduced with subgroupMin/Max (no barriers):
 * per-token W8A8 quantization of 4096×320 on lavapipe took 25 ms with the 64-thread workgroup reduction.
 */
const QUANT_WG_SUBGROUP = 8;

/**
 * How a block's min/max is reduced: "workgroup" (64 threads, workgroup memory and barriers; GPUs), "subgroup"
 * (one 8-lane subgroup, hasCpuSubgroupKernels) or "serial" (one thread walks the whole block: other CPU adapters,
 * i.e. SwiftShader, where barriers are so costly that per-token quantization of 4096×320 took 212-299 ms).
 */
export type QuantReduce = "workgroup" | "subgroup" | "serial";

export function quantReduceFor(gpu: Gpu): QuantReduce {
  if (hasCpuSubgroupKernels(gpu)) return "subgroup";
  return gpu.ctx.caps.cpu ? "serial" : "workgroup";
}

interface QuantBlocksKey {
  dtype: FloatDType;
  mapping: IntRangeSpec["mapping"];
  bits: 4 | 8;
  /** Added to int4 codes before packing (8 for signed codes, 0 for uint4). */
  nibbleOffset: number;
  reduce: QuantReduce;
}

const QUANT_WG_SIZE: Record<QuantReduce, number> = { workgroup: QUANT_WG, subgroup: QUANT_WG_SUBGROUP, serial: QUANT_WG };

export const quantBlocksKernel = defineKernel<QuantBlocksKey>({
  name: "quant_blocks",
  file: "quant_blocks.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    WG_SIZE: `${QUANT_WG_SIZE[k.reduce]}u`,
    SUBGROUP_REDUCE: k.reduce === "subgroup",
    SERIAL_REDUCE: k.reduce === "serial",
    MAPPING_SYMMETRIC: k.mapping === "symmetric",
    MAPPING_ASYM_INT_ZP: k.mapping === "asymmetric-int-zp",
    MAPPING_ASYM_FLOAT_ZP: k.mapping === "asymmetric-float-zp",
    PACK_INT4: k.bits === 4,
    PACK_INT8: k.bits === 8,
    NIBBLE_OFFSET: `${k.nibbleOffset}`,
  }),
  label: (k) => `quant_blocks_${k.mapping}_int${k.bits}${k.bits === 4 ? `_off${k.nibbleOffset}` : ""}_${k.dtype}${k.reduce === "subgroup" ? "_sg8" : k.reduce === "serial" ? "_serial" : ""}`,
});

/** Codes, scales and zero points of a blocked quantization on the GPU. */
export interface QuantizedBlocksGpu {
  /** i8x4 [rows, cols padded to 4] or i4x8 [rows, cols]. */
  codes: Tensor;
  /** f32 [rows, cols / groupSize]. */
  scales: Tensor;
  /** f32 [rows, cols / groupSize]: integer zero points (as floats), float-domain ones (W4A16), or 0. */
  zeroPoints: Tensor;
}

/** Tests pin the reduction ("workgroup" and "serial" run on any adapter, "subgroup" needs 8-lane subgroups). */
export interface QuantBlocksOptions {
  reduce?: QuantReduce;
}

async function quantizeBlocksGpu(gpu: Gpu, op: string, x: Tensor, rows: number, cols: number, groupSize: number, spec: IntRangeSpec, nibbleOffset: number, opts: QuantBlocksOptions): Promise<QuantizedBlocksGpu> {
  const dtype = floatDType(gpu, op, "x", x);
  if (cols % groupSize !== 0) throw new OpInputError(op, `K = ${cols} is not a multiple of the group size ${groupSize}`);
  if (spec.bits === 4 && groupSize % 8 !== 0) throw new OpInputError(op, `int4 groups must be a multiple of 8 codes (one word), got ${groupSize}`);
  if (spec.bits === 8 && groupSize !== cols) throw new OpInputError(op, `int8 codes are quantized per whole row (group ${cols}), got group ${groupSize}`);
  const groups = cols / groupSize;
  const words = spec.bits === 4 ? cols / 8 : Math.ceil(cols / 4);
  const codes = gpu.empty(spec.bits === 4 ? [rows, cols] : [rows, words * 4], spec.bits === 4 ? "i4x8" : "i8x4", `${op}.codes`);
  const scales = gpu.empty([rows, groups], "f32", `${op}.scales`);
  const zeroPoints = gpu.empty([rows, groups], "f32", `${op}.zeros`);
  const reduce = opts.reduce ?? quantReduceFor(gpu);
  if (reduce === "subgroup" && !hasCpuSubgroupKernels(gpu)) throw new OpInputError(op, `the subgroup reduction needs 8-lane subgroups; this adapter has ${gpu.ctx.caps.subgroupSizes?.join("-") ?? "none"}`);
  const k = await gpu.kernel(quantBlocksKernel, { dtype, mapping: spec.mapping, bits: spec.bits, nibbleOffset, reduce });
  const blocks = rows * groups;
  gpu.dispatch(
    k,
    { x, codes, scales, zeros: zeroPoints },
    { cols, group_size: groupSize, groups_per_row: groups, words_per_row: words, qmin: spec.qmin, qmax: spec.qmax, eps: spec.eps, blocks, opaque_zero: 0 },
    // One workgroup per block, or (serial) one thread per block.
    gridFor(gpu, blocks, reduce === "serial" ? QUANT_WG_SIZE.serial : 1),
  );
  return { codes, scales, zeroPoints };
}

/**
 * Per-token int8 quantization of x [..., K] for an activation-quantizing format (W8A8 symmetric
 * −127..127, W4A8 asymmetric −128..127 with zero point): one scale (and zero point) per row.
 */
export async function quantizeActivationsPerToken(gpu: Gpu, x: Tensor, format: QuantFormat, opts: QuantBlocksOptions = {}): Promise<QuantizedBlocksGpu> {
  const op = "quantizeActivationsPerToken";
  if (!format.activation) throw new OpInputError(op, `${format.scheme} is weight-only: activations stay float`);
  if (x.rank < 1) throw new OpInputError(op, `x must have rank ≥ 1, got ${shapeStr(x.shape)}`);
  const k = x.shape[x.rank - 1]!;
  return quantizeBlocksGpu(gpu, op, x, x.numel / Math.max(k, 1), k, k, format.activation, 0, opts);
}

/** Quantizes a float weight [N, K] on the GPU into a QuantizedWeight (codes equal src/quant's bit for bit). */
export async function quantizeWeightOnGpu(gpu: Gpu, w: Tensor, format: QuantFormat, groupSize?: number | "per-channel", opts: QuantBlocksOptions = {}): Promise<QuantizedWeight> {
  const op = "quantizeWeightOnGpu";
  if (w.rank !== 2) throw new OpInputError(op, `weight must be [N, K], got ${shapeStr(w.shape)}`);
  const [n, k] = w.shape as [number, number];
  let gs: number;
  try {
    gs = resolveGroupSize(format, k, groupSize);
  } catch (e) {
    throw new OpInputError(op, (e as Error).message);
  }
  const q = await quantizeBlocksGpu(gpu, op, w, n, k, gs, format.weight, format.weight.bits === 4 ? int4NibbleOffset(format) : 0, opts);
  if (shapeStr(q.codes.shape) !== shapeStr(codesShape(format, n, k)) || wordsPerRow(format, k) * n * 4 !== q.codes.byteLength) {
    throw new Error(`${op}: packed shape ${shapeStr(q.codes.shape)} disagrees with formats.ts`);
  }
  let zeroPoints: Tensor | null = q.zeroPoints;
  if (!format.storesWeightZeroPoint) {
    q.zeroPoints.dispose();
    zeroPoints = null;
  }
  return { kind: "quantized-weight", format, n, k, groupSize: gs, codes: q.codes, scales: q.scales, zeroPoints };
}

/**
 * The integer path of W8A8 / W4A8 linears, after per-token activation quantization: on CPU adapters with
 * 8-lane subgroups shaders/matmul_cpu.wgsl with int8 activation codes (A_INT8), on other CPU adapters
 * (SwiftShader) shaders/matmul_rows.wgsl with the same unpacking, elsewhere shaders/linear_int8_tiles.wgsl where it
 * fits (dot4I8Packed on workgroup tiles), else shaders/linear_int8.wgsl (dot4I8Packed where the language feature
 * exists, else a scalar dot).
 */
import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { CompiledKernel } from "../gpu/kernel-registry.ts";
import type { Gpu } from "../gpu/runtime.ts";
import { checkBindingSize, type Tensor } from "../gpu/tensor.ts";
import { wordsPerRow } from "../quant/formats.ts";
import type { Activation } from "./activation.ts";
import type { FloatDType } from "./common.ts";
import { DEFAULT_CPU_VARIANT, smallCpuVariant, epilogueBindings, epilogueUniforms, fillsBlocks, hasCpuSubgroupKernels, INT_LARGE_CPU_VARIANT, INT_TALL_COLUMNS, MATMUL_CPU_VARIANTS, tallCpuLinear, W4A8_TALL_ROWS, matmulKernel, rowsKernelGrid, rowsVariantFor, type MatmulCpuVariant, type RowsKernelVariant } from "./matmul-kernel.ts";
import { quantizeActivationsPerToken } from "./quant-blocks.ts";
import { hasPackedIntegerDot } from "./quant-features.ts";
import type { QuantizedWeight } from "./quant-weight.ts";

const INT_WG = 64;
/** Rows per thread: each weight word is loaded once per INT_ROWS tokens. */
const INT_ROWS = 4;

interface IntLinearKey {
  dtype: FloatDType;
  weightBits: 4 | 8;
  packedDot: boolean;
  /** Weight scales stored as f16 pairs in u32 words (src/ops/quant-weight.ts). */
  scalesF16: boolean;
  bias: boolean;
  residual: boolean;
  act: Activation | "none";
}

export const intLinearKernel = defineKernel<IntLinearKey>({
  name: "linear_int8",
  file: "linear_int8.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    WG_SIZE: `${INT_WG}u`,
    INT_ROWS: `${INT_ROWS}u`,
    W_INT4: k.weightBits === 4,
    PACKED_DOT: k.packedDot,
    SCALES_F16: k.scalesF16,
    HAS_BIAS: k.bias,
    HAS_RESIDUAL: k.residual,
    [`ACT_${k.act.toUpperCase()}`]: true,
  }),
  label: (k) => `linear_int8_a8w${k.weightBits}_${k.packedDot ? "dot4" : "scalar"}_${k.dtype}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.act}${k.residual ? "_residual" : ""}`,
});

/** linear_int8_tiles.wgsl: 64 × 64 outputs per 16 × 16 workgroup, dot4I8Packed on workgroup tiles of 32 k. */
const INT_TILE = 64;
export const intLinearTilesKernel = defineKernel<Omit<IntLinearKey, "packedDot">>({
  name: "linear_int8_tiles",
  file: "linear_int8_tiles.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    W_INT4: k.weightBits === 4,
    PACKED_DOT: true,
    SCALES_F16: k.scalesF16,
    HAS_BIAS: k.bias,
    HAS_RESIDUAL: k.residual,
    [`ACT_${k.act.toUpperCase()}`]: true,
  }),
  label: (k) => `linear_int8_tiles_a8w${k.weightBits}_${k.dtype}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.act}${k.residual ? "_residual" : ""}`,
});

/** The CPU kernel's key: its epilogue (bias, residual, activation) is chosen per dispatch, not compiled in. */
type IntCpuKey = Omit<IntLinearKey, "packedDot" | "bias" | "residual" | "act"> & {
  /** Rows per lane: 16 (DEFAULT_CPU_VARIANT), or 32 (INT_LARGE_CPU_VARIANT: tallCpuLinear; W4A8 below W4A8_TALL_ROWS rows only where N fills it). */
  rows: 16 | 32;
  /** 16 rows only: 8-lane workgroups (32 columns) for small work or where 128 columns per workgroup would idle (smallCpuVariant). */
  narrow: boolean;
};
// Float linears take 64 rows where tallCpuLinear says so; the int kernel measured level at 32 and 64 rows
// (kernels-bench/RESULTS.md), so it keeps the 32-row pipeline.
const cpuVariantOf = (rows: 16 | 32, narrow: boolean): MatmulCpuVariant => (rows === 32 ? INT_LARGE_CPU_VARIANT : narrow ? "cpuR16w8" : DEFAULT_CPU_VARIANT);

/**
 * matmul_cpu.wgsl on int8 activation codes: the codes are unpacked to floats and multiplied with the
 * unpacked int8 codes (W8A8, channel scale in the epilogue) or the dequantized int4 groups (W4A8), so
 * A costs one u32 load per 4 k. On lavapipe that beats linear_int8.wgsl's dot4I8Packed by
 * kernels-bench/RESULTS.md's margin: its loads, not its arithmetic, set the speed.
 */
export const intLinearCpuKernel = defineKernel<IntCpuKey>({
  name: "linear_int8_cpu",
  file: "matmul_cpu.wgsl",
  defines: (k) => ({
    ...matmulKernel.defines({
      variant: cpuVariantOf(k.rows, k.narrow),
      dtype: k.dtype,
      b: k.weightBits === 4 ? "int4" : "int8",
      zeroPoint: false,
      scaleInEpilogue: k.weightBits === 8,
      scalesF16: k.scalesF16,
      bias: false,
      residual: false,
      act: "runtime",
    }),
    A_INT8: true,
    // W4A8 activations are asymmetric (a zero point per token), W8A8's symmetric.
    A_ZERO_POINT: k.weightBits === 4,
  }),
  label: (k) => `matmul_cpu_a8w${k.weightBits}_${k.dtype}${k.scalesF16 ? "_s16" : ""}${k.rows === 32 ? "_r32" : ""}${k.narrow ? "_w8" : ""}_epilogue_uniform`,
});

/** matmul_rows.wgsl on int8 activation codes: 4 rows × 4 columns per thread, no subgroups, epilogue compiled in. */
type IntRowsKey = Omit<IntLinearKey, "packedDot"> & { variant: RowsKernelVariant };

export const intLinearRowsKernel = defineKernel<IntRowsKey>({
  name: "linear_int8_rows",
  file: "matmul_rows.wgsl",
  defines: (k) => ({
    ...matmulKernel.defines({
      variant: k.variant,
      dtype: k.dtype,
      b: k.weightBits === 4 ? "int4" : "int8",
      zeroPoint: false,
      scaleInEpilogue: k.weightBits === 8,
      scalesF16: k.scalesF16,
      bias: k.bias,
      residual: k.residual,
      act: k.act,
    }),
    A_INT8: true,
    A_ZERO_POINT: k.weightBits === 4,
    // W4A8 sums its integer products two per u32 multiply (matmul_rows.wgsl).
    W4A8_PAIRS: k.weightBits === 4,
  }),
  label: (k) => `matmul_rows_a8w${k.weightBits}_${k.dtype}${k.variant === "regs4x4v4n16" ? "_n16" : ""}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.act}${k.residual ? "_residual" : ""}`,
});

/**
 * Which integer kernel runs: "auto" = the CPU kernel where it fits (32 rows per lane where tallCpuLinear says
 * so, W4A8 below W4A8_TALL_ROWS rows only where N fills its workgroups; else 16), else on other CPU adapters (SwiftShader) the rows kernel where it fits, on GPUs the
 * tiled kernel where it fits, else dot4I8Packed where it exists, else scalar. "cpu" / "cpu32": the CPU kernel with 16 / 32 rows; "rows": matmul_rows.wgsl.
 */
export type IntLinearKernel = "auto" | "cpu" | "cpu32" | "rows" | "dot4" | "scalar" | "tiles";

/**
 * The tiled dot4I8Packed kernel's conditions: the language feature, K and the int4 group size multiples of 32, int8
 * weights per channel. GPUs take it by default where it fits. Measured on lavapipe only (where the CPU kernel is the
 * default): 1.46× (W8A8) and 1.62× (W4A8) linear_int8.wgsl at 256×320×1280; a GPU measurement is pending
 * (kernels-bench --int=auto,dot4).
 */
export async function intTilesKernelFits(w: QuantizedWeight): Promise<boolean> {
  const shape = w.format.weight.bits === 8 ? w.groupSize === w.k : w.groupSize % 32 === 0;
  return shape && w.k % 32 === 0 && (await hasPackedIntegerDot());
}

/** The CPU kernel's conditions: the adapter's 8-lane subgroups, whole code words (W8) or 32-k chunks and groups (W4). */
export function intCpuKernelFits(gpu: Gpu, w: QuantizedWeight): boolean {
  if (!hasCpuSubgroupKernels(gpu)) return false;
  return w.format.weight.bits === 8 ? w.k % 4 === 0 && w.groupSize === w.k : w.k % 32 === 0 && w.groupSize % 32 === 0;
}

/** The rows kernel's conditions: whole code words along K (W8: K % 4 == 0, per channel; W4: K and groups in 8s). */
export function intRowsKernelFits(w: QuantizedWeight): boolean {
  return w.format.weight.bits === 8 ? w.k % 4 === 0 && w.groupSize === w.k : w.k % 8 === 0 && w.groupSize % 8 === 0;
}

/** The kernels that can run this weight here, for tests: "cpu", "rows" and "tiles" where they fit, and the two linear_int8 paths. */
export async function intLinearKernelsFor(gpu: Gpu, w: QuantizedWeight): Promise<IntLinearKernel[]> {
  const tiles = (await intTilesKernelFits(w)) ? (["tiles"] as const) : [];
  return [...(intCpuKernelFits(gpu, w) ? (["cpu", "cpu32"] as const) : []), ...(intRowsKernelFits(w) ? (["rows"] as const) : []), "dot4", "scalar", ...tiles];
}

export interface IntLinearRun {
  op: string;
  x: Tensor;
  w: QuantizedWeight;
  bias?: Tensor;
  residual?: Tensor;
  act: Activation | "none";
  m: number;
  outShape: number[];
  /** "cpu" where the CPU kernel does not fit is an error (tests name the kernel they check). */
  kernel: IntLinearKernel;
}

export async function runIntLinear(gpu: Gpu, r: IntLinearRun): Promise<Tensor> {
  const { w } = r;
  const dtype = r.x.dtype as FloatDType;
  const weightBits = w.format.weight.bits;
  const cpuFits = intCpuKernelFits(gpu, w);
  if ((r.kernel === "cpu" || r.kernel === "cpu32") && !cpuFits) throw new OpInputError(r.op, `the CPU int8 kernel needs a CPU adapter with 8-lane subgroups and ${weightBits === 8 ? "K % 4 == 0, per-channel scales" : "K and the group size multiples of 32"}; got K = ${w.k}, group size ${w.groupSize}`);
  if (cpuFits && r.kernel !== "dot4" && r.kernel !== "scalar" && r.kernel !== "rows" && r.kernel !== "tiles") {
    return runIntLinearCpu(gpu, r);
  }
  const rowsFits = intRowsKernelFits(w);
  if (r.kernel === "rows" && !rowsFits) throw new OpInputError(r.op, `the rows int8 kernel needs ${weightBits === 8 ? "K % 4 == 0, per-channel scales" : "K and the group size multiples of 8"}; got K = ${w.k}, group size ${w.groupSize}`);
  // CPU adapters without the 8-lane subgroups (SwiftShader): the rows kernel, as SwiftShader emulates dot4I8Packed.
  if (r.kernel === "rows" || (r.kernel === "auto" && gpu.ctx.caps.cpu && rowsFits)) return runIntLinearRows(gpu, r);
  if (r.kernel === "tiles" && !(await intTilesKernelFits(w))) {
    throw new OpInputError(r.op, `the tiled int8 kernel needs dot4I8Packed and K ${weightBits === 8 ? "a multiple of 32, per-channel scales" : "and the group size multiples of 32"}; got K = ${w.k}, group size ${w.groupSize}`);
  }
  // GPUs: the tiled kernel where it fits (each weight word read once per 64 tokens, not 4); else linear_int8.wgsl.
  const tiles = r.kernel === "tiles" || (r.kernel === "auto" && !gpu.ctx.caps.cpu && (await intTilesKernelFits(w)));
  const packedDot = r.kernel !== "scalar" && (await hasPackedIntegerDot());
  const xq = await quantizeActivationsPerToken(gpu, r.x, w.format);
  const bound: Record<string, Tensor> = { x_codes: xq.codes, x_scales: xq.scales, w_codes: w.codes, w_scales: w.scales };
  if (weightBits === 4) bound.x_zeros = xq.zeroPoints;
  if (r.bias) bound.bias = r.bias;
  if (r.residual) bound.residual = r.residual;
  for (const [name, t] of Object.entries(bound)) checkBindingSize(gpu.ctx, t.byteLength, `${r.op}: ${name} ${t}`);
  const key = { dtype, weightBits, scalesF16: w.scales.dtype === "f16", bias: !!r.bias, residual: !!r.residual, act: r.act };
  const kernel = tiles ? await gpu.kernel(intLinearTilesKernel, key) : await gpu.kernel(intLinearKernel, { ...key, packedDot });
  const y = gpu.empty(r.outShape, dtype, r.op);
  bound.y = y;
  gpu.dispatch(
    kernel,
    bound,
    { m: r.m, n: w.n, x_words: Math.ceil(w.k / 4), w_words: wordsPerRow(w.format, w.k), group_size: w.groupSize, groups_per_row: w.k / w.groupSize },
    tiles ? [Math.ceil(w.n / INT_TILE), Math.ceil(r.m / INT_TILE), 1] : [Math.ceil(w.n / INT_WG), Math.ceil(r.m / INT_ROWS), 1],
  );
  // Back to the pool right away: later users' writes (encoded fills, uploads that flush first) stay
  // in order after this dispatch.
  xq.codes.dispose();
  xq.scales.dispose();
  xq.zeroPoints.dispose();
  return y;
}

/**
 * The kernels that read int8 activation codes as matmul_io.wgsl's A_INT8 operand (matmul_cpu.wgsl, matmul_rows.wgsl):
 * quantizes x per token, binds codes, scales and zero points next to the weight's and `epilogue`, dispatches `kernel`
 * over `grid` with matmul_io's uniforms plus `extra`, and returns the codes to the pool right after that dispatch.
 */
async function runOnActivationCodes(
  gpu: Gpu, r: IntLinearRun, kernel: CompiledKernel, epilogue: Record<string, Tensor>, extra: Record<string, number>, grid: [number, number],
): Promise<Tensor> {
  const { w } = r;
  const xq = await quantizeActivationsPerToken(gpu, r.x, w.format);
  const bound: Record<string, Tensor> = { a: xq.codes, a_scales: xq.scales, b: w.codes, b_scales: w.scales, ...epilogue };
  if (w.format.weight.bits === 4) bound.a_zeros = xq.zeroPoints;
  for (const [name, t] of Object.entries(bound)) checkBindingSize(gpu.ctx, t.byteLength, `${r.op}: ${name} ${t}`);
  const y = gpu.empty(r.outShape, r.x.dtype as FloatDType, r.op);
  bound.y = y;
  const uniforms = {
    m: r.m, n: w.n, k: w.k, a_batch_stride: 0, b_batch_stride: 0,
    group_size: w.groupSize, groups_per_row: w.k / w.groupSize, words_per_row: wordsPerRow(w.format, w.k),
    ...extra,
  };
  gpu.dispatch(kernel, bound, uniforms, [...grid, 1]);
  // As in runIntLinear: the codes go back to the pool right after the dispatch that reads them.
  xq.codes.dispose();
  xq.scales.dispose();
  xq.zeroPoints.dispose();
  return y;
}

async function runIntLinearCpu(gpu: Gpu, r: IntLinearRun): Promise<Tensor> {
  const { w } = r;
  const dtype = r.x.dtype as FloatDType;
  const flops = 2 * r.m * w.n * w.k;
  // 32 rows per lane where tallCpuLinear says so; W4A8 below W4A8_TALL_ROWS rows only where N fills the 32-row
  // kernel's workgroups (at N = 320 its idle columns cost more than the taller rows gain).
  const tallW4A8 = r.m >= W4A8_TALL_ROWS || (tallCpuLinear(r.m, flops) && fillsBlocks(w.n, INT_TALL_COLUMNS));
  const tall = w.format.weight.bits === 4 ? tallW4A8 : tallCpuLinear(r.m, flops);
  const rows = r.kernel === "cpu32" || (r.kernel === "auto" && tall) ? 32 : 16;
  const narrow = rows === 16 && smallCpuVariant(w.n, flops) !== DEFAULT_CPU_VARIANT;
  const kernel = await gpu.kernel(intLinearCpuKernel, { dtype, weightBits: w.format.weight.bits, scalesF16: w.scales.dtype === "f16", rows, narrow });
  const shape = MATMUL_CPU_VARIANTS[cpuVariantOf(rows, narrow)];
  // One pipeline for every epilogue: absent bias / residual bound to stand-ins, the choice made by uniforms.
  const epilogue = epilogueBindings(r.x, w.codes, r.bias, r.residual);
  return runOnActivationCodes(gpu, r, kernel, epilogue, epilogueUniforms(r.act, r.bias, r.residual), [Math.ceil(w.n / 4 / shape.wg), Math.ceil(r.m / shape.rows)]);
}

async function runIntLinearRows(gpu: Gpu, r: IntLinearRun): Promise<Tensor> {
  const { w } = r;
  const dtype = r.x.dtype as FloatDType;
  const variant = rowsVariantFor(gpu, w.n);
  const kernel = await gpu.kernel(intLinearRowsKernel, { variant, dtype, weightBits: w.format.weight.bits, scalesF16: w.scales.dtype === "f16", bias: !!r.bias, residual: !!r.residual, act: r.act });
  const epilogue: Record<string, Tensor> = {};
  if (r.bias) epilogue.bias = r.bias;
  if (r.residual) epilogue.residual = r.residual;
  const [x, y] = rowsKernelGrid(variant, r.m, w.n, 1);
  return runOnActivationCodes(gpu, r, kernel, epilogue, {}, [x, y]);
}

import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { CompiledKernel } from "../gpu/kernel-registry.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { wordsPerRow, type QuantFormat } from "../quant/formats.ts";
import { expectRank, floatDType, shapeStr, type FloatDType } from "./common.ts";
import { conv3x3Winograd, winogradApplies, winogradFits } from "./conv2d-winograd.ts";
import { fillsBlocks, hasCpuSubgroupKernels, SMALL_CPU_FLOPS } from "./matmul-kernel.ts";
import { autoSplitK, kSlices, runSplitK } from "./split-k.ts";

/**
 * Output tile per workgroup: TILE_M pixels × TILE_N channels over 16×16 threads, so each thread
 * holds (TILE_M / 16) × 4 accumulators; TILE_K = depth of the K slices in workgroup memory.
 */
const CONV_TILE_M = 128;
const CONV_TILE_N = 64;
const CONV_TILE_K = 16;

export type ConvWeightKind = "float" | "int8" | "int4" | "int4_zp";

interface Conv2dKey {
  dtype: FloatDType;
  weight: ConvWeightKind;
  kh: number;
  kw: number;
  /** Quantized weights: scales (and zero points) stored as f16 pairs in u32 words. */
  scalesF16: boolean;
  bias: boolean;
}

/** Weight format, scale storage and bias defines, shared by both conv kernels (their weight reads take the same switches). */
function convOperandDefines(k: { weight: ConvWeightKind; scalesF16: boolean; bias: boolean }) {
  return {
    HAS_BIAS: k.bias,
    WEIGHT_FLOAT: k.weight === "float",
    WEIGHT_INT8: k.weight === "int8",
    WEIGHT_INT4: k.weight === "int4" || k.weight === "int4_zp",
    WEIGHT_ZERO_POINT: k.weight === "int4_zp",
    SCALES_F16: k.weight !== "float" && k.scalesF16,
  };
}

/** The implicit GEMM's key: `splitK` writes each K range's f32 sums to its own copy of y (src/ops/split-k.ts). */
interface Conv2dIgemmKey extends Conv2dKey {
  splitK: boolean;
}

export const conv2dKernel = defineKernel<Conv2dIgemmKey>({
  name: "conv2d",
  file: "conv2d.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    TILE_M: `${CONV_TILE_M}u`,
    TILE_N: `${CONV_TILE_N}u`,
    TILE_K: `${CONV_TILE_K}u`,
    KH: `${k.kh}u`,
    KW: `${k.kw}u`,
    SPLIT_K: k.splitK,
    ...convOperandDefines(k),
  }),
  label: (k) => `conv2d_igemm_${k.kh}x${k.kw}_w${k.weight}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}${k.splitK ? "_splitk" : ""}_${k.dtype}`,
});

/** Threads per workgroup of shaders/conv2d_rows.wgsl (each: 4 channels × 4 pixels, or × 8 for 3×3 stride 1). */
const CONV_ROWS_WG = 64;

/**
 * The implicit GEMM's key (any kernel size, stride and padding at run time), plus `win3x3`: 3×3 stride 1 with 8
 * pixels per thread, each (input channel, kernel row)'s x window loaded once for its 3 taps.
 */
interface Conv2dRowsKey extends Conv2dKey {
  win3x3: boolean;
}
export const conv2dRowsKernel = defineKernel<Conv2dRowsKey>({
  name: "conv2d_rows",
  file: "conv2d_rows.wgsl",
  defines: (k) => ({
    ...dtypeDefines(k.dtype),
    WG_SIZE: `${CONV_ROWS_WG}u`,
    KH: `${k.kh}u`,
    KW: `${k.kw}u`,
    WIN_3X3: k.win3x3,
    ...convOperandDefines(k),
  }),
  label: (k) => `conv2d_rows_${k.kh}x${k.kw}${k.win3x3 ? "_win8" : ""}_w${k.weight}${k.scalesF16 ? "_s16" : ""}${k.bias ? "_bias" : ""}_${k.dtype}`,
});

/**
 * Shapes of the CPU-adapter kernel (shaders/conv2d_cpu.wgsl): a lane owns `pix` output pixels × `rows`
 * output channels, the channels' weights shared through 8-lane subgroup broadcasts. Tests run all.
 */
export interface Conv2dCpuShape {
  rows: 8 | 16 | 32;
  /** Output pixels per lane (consecutive along a row). */
  pix: 4 | 8;
  /** Invocations per workgroup (lanes along the output pixels). */
  wg: number;
}
export const CONV2D_CPU_VARIANTS = {
  // lavapipe, load ≈ 9 on 2 cores, ×igemm (GPU time, interleaved): 3×3 320→320 @16² R16w32 3.07–3.33, R16w64
  // 3.27–3.48, R8w32 2.49–2.58, R16p8w32 3.27 (R8p8w32 2.40, dropped); 3×3 s2 320 @32² R16w32 2.56–3.26, R16w64
  // 1.95–2.94, R8w32 1.30–1.91, R16p8w32 2.19; 1×1 320→640 @16² all 2.1–3.4. a·b + c instead of fma(): same.
  // Quiet machine (load ≈ 2.6, full shapes, GFLOP/s): 3×3 320 @64² R16w32 15.4, R16p8w32 17.8; 640 @32² 9.9 vs 13.0;
  // s2 320 64²→32² 8.1 vs 8.7; 1×1 320→640 @32² 4.7 vs 6.4 — R16p8w32 wins every shape, so it is the default.
  cpuR16w32: { rows: 16, pix: 4, wg: 32 },
  cpuR16w64: { rows: 16, pix: 4, wg: 64 },
  cpuR8w32: { rows: 8, pix: 4, wg: 32 },
  cpuR16p8w32: { rows: 16, pix: 8, wg: 32 },
  // 32 channels shared per subgroup (x loads per FMA halved again): 1.21–1.26× R16p8w32 on every full shape
  // (3×3 320 @64² 18.2 → 22.1 GFLOP/s, 640 @32² 18.2 → 23.0, s2 12.9 → 16.2, 1×1 10.4 → 13.1, 1280 @16² 1.2×); R32
  // with 4 pixels 1.0–1.2×. Taken for convs of 2^28 FLOPs and up whose Cout fills the 32 rows (conv2dCpuVariantFor).
  cpuR32p8w32: { rows: 32, pix: 8, wg: 32 },
  // One subgroup per workgroup, for maps with few pixel groups: a 32-lane workgroup over an 8² map (8 groups of 8
  // pixels) had 3 of its 4 subgroups recompute the last group; 3×3 1280 @8² 328 → 93 ms (5.8 → 20 GFLOP/s).
  cpuR16p8w8: { rows: 16, pix: 8, wg: 8 },
  cpuR32p8w8: { rows: 32, pix: 8, wg: 8 },
} as const satisfies Record<string, Conv2dCpuShape>;
export type Conv2dCpuVariant = keyof typeof CONV2D_CPU_VARIANTS;
/**
 * 16 channels, 8 pixels, 32 lanes: small convs over maps of 32 pixel groups and more (kernels-bench/RESULTS.md, "conv2d on
 * the CPU-adapter kernel"); conv2dCpuVariantFor picks among it, LARGE_CONV2D_CPU_VARIANT and their 8-lane forms.
 */
export const DEFAULT_CONV2D_CPU_VARIANT: Conv2dCpuVariant = "cpuR16p8w32";
/** 32 channels, 8 pixels, 32 lanes: large convs whose Cout fills 32-channel blocks (SD/SDXL UNet and VAE convs). */
export const LARGE_CONV2D_CPU_VARIANT: Conv2dCpuVariant = "cpuR32p8w32";
/**
 * From this much work (2·N·Cout·Cin·KH·KW·Ho·Wo FLOPs) convs take 32 channels per subgroup: that variant compiles in
 * about twice the time (the toy's cold first generation went 31 → 63 s when every conv took it), which small convs
 * never repay. SD's smallest, 3×3 1280 @8², is 1.9 GFLOP; the toy's largest ~20 MFLOP.
 */
export const LARGE_CONV_FLOPS = 2 ** 28;
/**
 * The CPU-adapter variant (all 8 pixels per lane): 32 or 16 output channels per subgroup by work and by how well Cout
 * fills 32-channel blocks; 8-lane workgroups where 32-lane ones would leave over 1/8 of their lanes idle, and for
 * convs under SMALL_CPU_FLOPS.
 */
export function conv2dCpuVariantFor(cout: number, flops: number, pixelGroups: number): Conv2dCpuVariant {
  const { rows, wg } = CONV2D_CPU_VARIANTS[LARGE_CONV2D_CPU_VARIANT];
  // Small convs: the 8-lane form only, one pipeline to compile (SMALL_CPU_FLOPS).
  const wide = flops >= SMALL_CPU_FLOPS && fillsBlocks(pixelGroups, wg);
  if (flops >= LARGE_CONV_FLOPS && fillsBlocks(cout, rows)) return wide ? LARGE_CONV2D_CPU_VARIANT : "cpuR32p8w8";
  return wide ? DEFAULT_CONV2D_CPU_VARIANT : "cpuR16p8w8";
}
/**
 * Which kernel runs a conv: the workgroup-memory implicit GEMM (any adapter, any shape), the barrier-free
 * conv2d_rows.wgsl (any adapter, any shape) or a conv2d_cpu.wgsl variant.
 */
export type Conv2dKernelChoice = "igemm" | "rows" | "winograd" | Conv2dCpuVariant;

/** The kernel shapes conv2d_cpu.wgsl is written for; the host passes a 1×1 conv as one row of H·W pixels. */
type ConvCpuTaps = "3x3s1" | "3x3s2" | "1x1";

function cpuTaps(kh: number, kw: number, stride: number, pad: number): ConvCpuTaps | null {
  if (kh === 3 && kw === 3 && (stride === 1 || stride === 2)) return stride === 1 ? "3x3s1" : "3x3s2";
  if (kh === 1 && kw === 1 && stride === 1 && pad === 0) return "1x1";
  return null;
}

/** No bias flag: conv2d_cpu.wgsl binds a bias always and switches it per dispatch (`bias_on`). */
interface Conv2dCpuKey {
  variant: Conv2dCpuVariant;
  taps: ConvCpuTaps;
  dtype: FloatDType;
  weight: ConvWeightKind;
  scalesF16: boolean;
}

export const conv2dCpuKernel = defineKernel<Conv2dCpuKey>({
  name: "conv2d_cpu",
  file: "conv2d_cpu.wgsl",
  defines: (k) => {
    const c = CONV2D_CPU_VARIANTS[k.variant];
    const [kSize, stride] = k.taps === "1x1" ? [1, 1] : [3, k.taps === "3x3s1" ? 1 : 2];
    return {
      ...dtypeDefines(k.dtype),
      WG_SIZE: `${c.wg}u`,
      ROWS: `${c.rows}u`,
      ROWS_16: c.rows >= 16,
      ROWS_32: c.rows >= 32,
      PIX: `${c.pix}u`,
      PIX_8: c.pix === 8,
      KH: `${kSize}u`,
      KW: `${kSize}u`,
      STRIDE: `${stride}u`,
      TAPS_3X3_S1: k.taps === "3x3s1",
      TAPS_3X3_S2: k.taps === "3x3s2",
      TAPS_1X1: k.taps === "1x1",
      ...convOperandDefines({ ...k, bias: true }),
    };
  },
  label: (k) => `conv2d_cpu_${k.variant}_${k.taps}_w${k.weight}${k.scalesF16 ? "_s16" : ""}_${k.dtype}`,
});

/**
 * A quantized conv weight on the GPU: the [Cout, Cin·kh·kw] matrix in the layout of
 * src/quant/formats.ts (codes u32 [Cout, wordsPerRow], scales f32 or f16 [Cout, K / groupSize],
 * zero points for W4A16 only, in the scales' dtype).
 */
export interface QuantizedConvWeight {
  format: QuantFormat;
  /** [Cout, Cin, kh, kw] of the float weight it stands for. */
  shape: readonly [number, number, number, number];
  groupSize: number;
  codes: Tensor;
  scales: Tensor;
  zeroPoints?: Tensor | null;
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  /**
   * Kernel to run (tests and kernels-bench). Default: conv2d_cpu.wgsl on CPU adapters with 8-lane
   * subgroups for 3×3 stride 1/2 and 1×1 stride 1 pad 0; conv2d_rows.wgsl on other CPU adapters (SwiftShader);
   * else the implicit GEMM. A CPU variant asked for where it does not fit runs the implicit GEMM (or, on SwiftShader,
   * conv2d_rows). "winograd": Winograd F(2×2, 3×3) (conv2d-winograd.ts), the default for float 3×3 stride-1 pad-1 convs
   * where `winogradFits` (lavapipe-style adapters and GPUs, wide channels, enough tiles); asked for, it runs wherever
   * the shape allows it.
   */
  kernel?: Conv2dKernelChoice;
  /**
   * K slices of the implicit GEMM (tests and kernels-bench; clamped to one per K tile and to one binding of partial
   * sums). Default: 1 on CPU adapters; on GPUs `autoSplitK` (split-k.ts) when the conv has few output workgroups.
   */
  splitK?: number;
}

/** Output size of one spatial dim: floor((in + 2p − k) / s) + 1. */
export function convOutSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

function isQuantized(w: Tensor | QuantizedConvWeight): w is QuantizedConvWeight {
  return "format" in w;
}

/**
 * 2-D convolution, NCHW: x [N, Cin, H, W], weight [Cout, Cin, kh, kw] (float, or a
 * QuantizedConvWeight dequantized in the kernel's weight read), bias [Cout] or null → [N, Cout, Ho, Wo].
 * On CPU adapters with 8-lane subgroups (hasCpuSubgroupKernels), 3×3 stride 1/2 and 1×1 stride 1 pad 0
 * run shaders/conv2d_cpu.wgsl (3–4× the implicit GEMM on lavapipe); everything else the implicit GEMM.
 */
export async function conv2d(gpu: Gpu, x: Tensor, weight: Tensor | QuantizedConvWeight, bias: Tensor | null, opts: Conv2dOptions = {}): Promise<Tensor> {
  const op = "conv2d";
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  const dtype = floatDType(gpu, op, "x", x);
  expectRank(op, "x", x, 4);
  if (!Number.isInteger(stride) || stride < 1) throw new OpInputError(op, `stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0) throw new OpInputError(op, `padding must be a non-negative integer, got ${pad}`);
  if (opts.splitK !== undefined && (!Number.isInteger(opts.splitK) || opts.splitK < 1)) throw new OpInputError(op, `splitK must be a positive integer, got ${opts.splitK}`);
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const wShape = isQuantized(weight) ? weight.shape : weight.shape;
  if (wShape.length !== 4) throw new OpInputError(op, `weight must be [Cout, Cin, kh, kw], got shape ${shapeStr(wShape)}`);
  const [cout, wCin, kh, kw] = wShape as [number, number, number, number];
  if (wCin !== cin) throw new OpInputError(op, `weight has ${wCin} input channels, input has ${cin}`);
  const ho = convOutSize(h, kh, stride, pad);
  const wo = convOutSize(w, kw, stride, pad);
  if (ho < 1 || wo < 1) throw new OpInputError(op, `kernel ${kh}x${kw} with padding ${pad} does not fit input ${h}x${w}`);
  if (bias) {
    if (bias.dtype !== dtype) throw new OpInputError(op, `bias must be ${dtype} like x, got ${bias.dtype}`);
    if (bias.rank !== 1 || bias.shape[0] !== cout) throw new OpInputError(op, `bias must have shape [${cout}], got ${shapeStr(bias.shape)}`);
  }
  const kTotal = cin * kh * kw;
  const bindings: Record<string, Tensor> = { x };
  let kind: ConvWeightKind = "float";
  let kWords = 0;
  let scaleGroups = 1;
  let groupSize = kTotal;
  let scalesF16 = false;
  if (isQuantized(weight)) {
    const f = weight.format;
    kind = f.weight.bits === 8 ? "int8" : f.storesWeightZeroPoint ? "int4_zp" : "int4";
    groupSize = weight.groupSize;
    if (kTotal % groupSize !== 0) throw new OpInputError(op, `K = Cin·kh·kw = ${kTotal} is not a multiple of the group size ${groupSize}`);
    scaleGroups = kTotal / groupSize;
    // The int8 read hook takes one scale per output channel (the int8 formats are per-channel).
    if (kind === "int8" && scaleGroups !== 1) throw new OpInputError(op, `int8 weights must be per-channel (group size ${kTotal}), got group size ${groupSize}`);
    kWords = wordsPerRow(f, kTotal);
    if (weight.codes.dtype !== "u32" || weight.codes.numel !== cout * kWords) {
      throw new OpInputError(op, `weight codes must be u32 [${cout}, ${kWords}], got ${shapeStr(weight.codes.shape)} ${weight.codes.dtype}`);
    }
    scalesF16 = weight.scales.dtype === "f16";
    if ((weight.scales.dtype !== "f32" && !scalesF16) || weight.scales.numel !== cout * scaleGroups) {
      throw new OpInputError(op, `weight scales must be f32 or f16 [${cout}, ${scaleGroups}], got ${shapeStr(weight.scales.shape)} ${weight.scales.dtype}`);
    }
    bindings.weight_codes = weight.codes;
    bindings.weight_scales = weight.scales;
    if (kind === "int4_zp") {
      if (!weight.zeroPoints || weight.zeroPoints.numel !== cout * scaleGroups || weight.zeroPoints.dtype !== weight.scales.dtype) {
        throw new OpInputError(op, `${f.scheme} weight needs zero points ${weight.scales.dtype} [${cout}, ${scaleGroups}] like its scales`);
      }
      bindings.weight_zero_points = weight.zeroPoints;
    }
  } else {
    if (weight.dtype !== dtype) throw new OpInputError(op, `weight must be ${dtype} like x, got ${weight.dtype}`);
    bindings.weight = weight;
  }
  if (bias) bindings.bias = bias;
  const mTotal = n * ho * wo;
  const operands = { k_total: kTotal, k_words: kWords, scale_groups: scaleGroups, group_size: groupSize };
  /** Allocates y and dispatches `kernel` over `grid` (nothing for an empty output). */
  const run = (kernel: CompiledKernel, uniforms: Record<string, number>, grid: [number, number]): Tensor => {
    const y = gpu.empty([n, cout, ho, wo], dtype, op);
    bindings.y = y;
    if (mTotal > 0 && cout > 0) gpu.dispatch(kernel, bindings, { ...uniforms, ...operands }, [...grid, 1]);
    return y;
  };
  // conv2d_cpu: a 1×1 conv reads the image as one row of H·W pixels (x is contiguous over H·W).
  // Float 3×3 stride-1 pad-1 convs: Winograd F(2×2, 3×3) where it fits (conv2d-winograd.ts); not when a K split of the
  // implicit GEMM is asked for.
  const winogradShape = !isQuantized(weight) && kh === 3 && kw === 3 && stride === 1 && pad === 1;
  const elementBytes = x.byteLength / Math.max(x.numel, 1);
  const winograd = opts.kernel === "winograd" ? winogradApplies : opts.kernel === undefined && opts.splitK === undefined ? winogradFits : () => false;
  if (winogradShape && winograd(gpu, n, cin, cout, h, w, elementBytes)) {
    return conv3x3Winograd(gpu, x, weight as Tensor, bias, dtype);
  }
  const taps = cpuTaps(kh, kw, stride, pad);
  const [rowH, rowW, rowHo, rowWo] = taps === "1x1" ? [1, h * w, 1, ho * wo] : [h, w, ho, wo];
  // Every variant conv2dCpuVariantFor picks takes the default's pixels per lane, so the pixel groups are known first.
  const defaultPix = CONV2D_CPU_VARIANTS[DEFAULT_CONV2D_CPU_VARIANT].pix;
  const flops = 2 * n * cout * cin * kh * kw * ho * wo;
  // Small stride-2 convs (a model's downsamplers: one per level, once per step) skip conv2d_cpu: its 3×3 s2 pipeline
  // costs lavapipe ~5 s to compile at its first dispatch, which a small conv never repays (64→64, 16² → 8²: 0.8 ms a
  // call there, 2.3 ms on the implicit GEMM, which compiles in 0.9 s). SD's downsamplers are over 2^28 FLOPs.
  const smallDownsample = taps === "3x3s2" && flops < SMALL_CPU_FLOPS;
  const autoVariant = smallDownsample ? "igemm" : conv2dCpuVariantFor(cout, flops, n * rowHo * Math.ceil(rowWo / defaultPix));
  // "winograd" asked for where it does not apply (not 3×3 s1 p1, quantized weights, Cin not a multiple of 4) runs the default.
  const cpuVariant = opts.kernel === undefined || opts.kernel === "winograd" ? autoVariant : opts.kernel;
  const c = cpuVariant === "igemm" || cpuVariant === "rows" ? null : CONV2D_CPU_VARIANTS[cpuVariant];
  const woGroups = Math.ceil(rowWo / (c?.pix ?? 1));
  const pixelGroups = n * rowHo * woGroups;
  const maxGroups = gpu.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  if (taps !== null && c && hasCpuSubgroupKernels(gpu) && Math.ceil(pixelGroups / c.wg) <= maxGroups) {
    const kernel = await gpu.kernel(conv2dCpuKernel, { variant: cpuVariant, taps, dtype, weight: kind, scalesF16 });
    // Without a bias, x stands in for the binding; bias_on = 0 leaves it unread.
    if (!bias) bindings.bias = x;
    const uniforms = { batch: n, cin, h: rowH, w: rowW, cout, ho: rowHo, wo: rowWo, pad, wo_groups: woGroups, pixel_groups: pixelGroups, bias_on: bias ? 1 : 0 };
    return run(kernel, uniforms, [Math.ceil(pixelGroups / c.wg), Math.ceil(cout / c.rows)]);
  }
  // CPU adapters without 8-lane subgroups (SwiftShader): no barriers; 3.4× the implicit GEMM on 3×3 stride 1 convs there, 1.8× on stride 2.
  // On lavapipe the shapes conv2d_cpu does not take stay on the implicit GEMM (rows measured 0.6× on 3×3 there).
  // One thread per 4 pixels of a row: within the dispatch limit for every UNet and VAE shape (1024²: 262 144 / 64).
  // 3×3 stride 1 on rows of 8 pixels and more: 8 pixels per thread (WIN_3X3 in the shader).
  const win3x3 = kh === 3 && kw === 3 && stride === 1 && wo >= 8;
  const rowsWoGroups = Math.ceil(wo / (win3x3 ? 8 : 4));
  const rowsGroups = n * ho * rowsWoGroups;
  const wantRows = opts.kernel === "rows" || (opts.kernel !== "igemm" && gpu.ctx.caps.cpu && !hasCpuSubgroupKernels(gpu));
  if (wantRows && Math.ceil(rowsGroups / CONV_ROWS_WG) <= maxGroups) {
    const kernel = await gpu.kernel(conv2dRowsKernel, { dtype, weight: kind, kh, kw, scalesF16, bias: !!bias, win3x3 });
    const uniforms = { batch: n, cin, h, w, cout, ho, wo, stride, pad, wo_groups: rowsWoGroups, pixel_groups: rowsGroups };
    return run(kernel, uniforms, [Math.ceil(rowsGroups / CONV_ROWS_WG), Math.ceil(cout / 4)]);
  }
  const grid: [number, number] = [Math.ceil(mTotal / CONV_TILE_M), Math.ceil(cout / CONV_TILE_N)];
  const kTiles = Math.ceil(kTotal / CONV_TILE_K);
  const outBytes = mTotal * cout * 4;
  const requested = opts.splitK ?? (gpu.ctx.caps.cpu ? 1 : autoSplitK(grid[0] * grid[1], kTiles));
  const { slices, sliceTiles } = kSlices(gpu, requested, kTiles, outBytes);
  const igemmUniforms = { batch: n, cin, h, w, cout, ho, wo, stride, pad, k_slice: sliceTiles * CONV_TILE_K };
  if (slices === 1 || outBytes === 0) {
    const kernel = await gpu.kernel(conv2dKernel, { dtype, weight: kind, kh, kw, scalesF16, bias: !!bias, splitK: false });
    return run(kernel, { ...igemmUniforms, k_slice: kTotal }, grid);
  }
  // Split-K: each K range's sums into its own f32 copy of y, then one pass adds the copies and the bias.
  const kernel = await gpu.kernel(conv2dKernel, { dtype, weight: kind, kh, kw, scalesF16, bias: false, splitK: true });
  const { bias: _bias, ...inputs } = bindings;
  return runSplitK(gpu, kernel, inputs, { ...igemmUniforms, ...operands }, [...grid, slices], slices, [n, cout, ho, wo], dtype, { bias, inner: ho * wo, channels: cout }, op);
}

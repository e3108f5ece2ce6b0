/**
 * The matmul kernel family (shaders/matmul.wgsl tiled, shaders/matmul_gemv.wgsl for few rows), shared
 * by `matmul`, `linear` and the weight-only quantized linears. One typed key picks the storage of B,
 * the fused epilogue and the tile shape; the key also names the pipeline.
 */
import { OpInputError } from "../gpu/errors.ts";
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import { checkBindingSize, type Tensor } from "../gpu/tensor.ts";
import { autoSplitK, kSlices, runSplitK } from "./split-k.ts";
import { ACTIVATION_IDS, type Activation } from "./activation.ts";
import type { FloatDType } from "./common.ts";

/** A tile shape of the tiled kernel: the workgroup computes TILE_M × TILE_N of y with (TILE_N/4)·(TILE_M/THREAD_M) threads. */
export interface MatmulTiles {
  tileM: number;
  tileN: number;
  /** K advanced per workgroup-memory tile. */
  tileK: number;
  /** Rows per thread (4 or 8); each thread always owns 4 columns (one vec4). */
  threadM: 4 | 8;
  /** vec4 workgroup tiles (GPUs; CPU drivers pay a select chain per dynamic component store). */
  vec4Tiles?: boolean;
}

/**
 * The tunable tile shapes (tests run all of them). Workgroup memory = 4·TILE_K·(TILE_M + TILE_N)
 * bytes, within lavapipe's 32 KiB for all.
 */
export const MATMUL_TILE_VARIANTS = {
  /** 64 threads of 4×4 outputs: less waste on small outputs. */
  t32x32k16: { tileM: 32, tileN: 32, tileK: 16, threadM: 4 },
  /** 128 threads of 8×4: the most FMAs per workgroup-memory load (loads, not FMAs, bound lavapipe). */
  t64x64k16r8: { tileM: 64, tileN: 64, tileK: 16, threadM: 8 },
  /**
   * GPUs: 256 threads of 8×4 from vec4 tiles. H200 (Dawn/Vulkan, f32, GPU time), 4096×320×1280: 212 µs against
   * t64x64k16r8's 280 and regs4x4v4's 1746; 64×64 vec4 tiles 235, 128×64 215 (kernels-bench/RESULTS.md).
   */
  t64x128k16r8v: { tileM: 64, tileN: 128, tileK: 16, threadM: 8, vec4Tiles: true },
} as const satisfies Record<string, MatmulTiles>;

export type MatmulTileVariant = keyof typeof MATMUL_TILE_VARIANTS;
/**
 * "regs4x4v4" (shaders/matmul_rows.wgsl): 4×4 outputs per thread from vec4 loads along K, no workgroup
 * memory. Only for a float [N, K] B with K a multiple of 4 (linear weights); elsewhere a request for
 * it falls back to DEFAULT_TILE_VARIANT. "gemv": one thread per output (a handful of rows).
 */
/**
 * Shapes of the CPU-adapter kernel (shaders/matmul_cpu.wgsl): a lane owns 4 columns × `rows` rows, the
 * rows' A values shared through 8-lane subgroup broadcasts. Tests run all of them.
 */
export interface MatmulCpuShape {
  rows: 8 | 16 | 32 | 64;
  /** Invocations per workgroup (lanes along N). */
  wg: number;
}
export const MATMUL_CPU_VARIANTS = {
  // lavapipe, quiet machine, ×regs4x4v4 (f32): 1024×320×1280 R8 0.88, R16 1.75, R8w8 0.94, R16w32 1.40;
  // 77×1024×320 R16 1.96, R8w8 2.21, R16w32 2.39. W4A16 ×tiles: 77×1024×320 R16w32 6.2, R16 4.9.
  cpuR8: { rows: 8, wg: 64 },
  cpuR16: { rows: 16, wg: 64 },
  cpuR8w8: { rows: 8, wg: 8 },
  cpuR16w8: { rows: 16, wg: 8 },
  cpuR16w32: { rows: 16, wg: 32 },
  // 32 / 64 rows (lane groups of 16, see the shader): B loads per FMA halved / quartered; the 64-row variant also
  // owns 8 columns per lane, halving A's. From TALL_CPU_ROWS rows (tallCpuLinear) float linears take
  // 64 (largeCpuVariant), int weights 32: W8A8/W4A8 (their kernel measured level at 64) and W4A16/W8A16 (1.1× /
  // 1.25× their 16-row speed). Ratios: kernels-bench/RESULTS.md.
  cpuR32w32: { rows: 32, wg: 32 },
  cpuR64w32: { rows: 64, wg: 32 },
  cpuR64w8: { rows: 64, wg: 8 }, // for n that 256 does not divide: see largeCpuVariant
} as const satisfies Record<string, MatmulCpuShape>;
export type MatmulCpuVariant = keyof typeof MATMUL_CPU_VARIANTS;
/** Output columns per lane: 4, or 8 for the 64-row variant (COLS_8: A's loads per FMA halved as well). */
export const cpuColumnsPerLane = (shape: MatmulCpuShape): 4 | 8 => (shape.rows === 64 ? 8 : 4);
const isCpuVariant = (v: string): v is MatmulCpuVariant => v in MATMUL_CPU_VARIANTS;
export type MatmulVariant = MatmulTileVariant | MatmulCpuVariant | RowsKernelVariant | "gemv" | "gemvWg";
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [
  ...(Object.keys(MATMUL_TILE_VARIANTS) as MatmulTileVariant[]),
  ...(Object.keys(MATMUL_CPU_VARIANTS) as MatmulCpuVariant[]),
  "regs4x4v4",
  "regs4x4v4n16",
  "gemv",
  "gemvWg",
];

/**
 * The workgroup-memory tiles serve matmul ([K, N] B), int weights and K % 4 ≠ 0; linears with
 * K % 4 == 0 default to "regs4x4v4" (~3× faster on lavapipe). Of the tiles, the fastest measured on
 * lavapipe at 1024×320×1280 f32 (~0.5 GFLOP/s under load);
 * 4×4, 2×4, 1×4 per thread, TILE_K 32/64, 8×256 / 8×128 tiles, a no-workgroup-memory row-block kernel
 * and vec4 global tile loads were all slower or equal. On lavapipe, workgroup-memory loads and
 * barriers, not FMAs, bound this loop (an FMA-only copy of it reaches the FMA probe's rate).
 */
export const DEFAULT_TILE_VARIANT: MatmulTileVariant = "t64x64k16r8";
/** The tiles on GPUs (non-CPU adapters): for matmuls, and for linears from GPU_TILE_MIN_ROWS rows. */
export const GPU_TILE_VARIANT: MatmulTileVariant = "t64x128k16r8v";
/**
 * Below this many rows GPUs keep the rows kernel for linears: at 77 rows (text tokens) its 642 µs beat the tiles'
 * 856–1013 (77×1024×320, H200: 6 workgroups of 64×128 cannot fill 132 SMs); at 256 rows the tiles won (330 against 605).
 */
export const GPU_TILE_MIN_ROWS = 128;
// (On CPU adapters with 8-lane subgroups, linears and W4A16 now default to matmul_cpu.wgsl, below.)
/**
 * Up to this many rows per batch the GEMV path beats the tiles: "gemv" (matmul_gemv.wgsl, a thread per column) on
 * CPU adapters, "gemvWg" (matmul_gemv_wg.wgsl, GEMV_LANES threads per column splitting K) on GPUs.
 */
export const GEMV_MAX_ROWS = 1;
const GEMV_WG = 64;
/** Threads per output column in matmul_gemv_wg.wgsl (a GPU's 32-wide warp reads 32 consecutive k). */
export const GEMV_LANES = 32;
const GEMV_WG_SIZE = 256;
/**
 * matmul_rows.wgsl's workgroups (regs4x4v4, and the int8 rows kernel of quant-int-linear.ts): 64 threads along N
 * (256 columns), or 16 × 4 ("n16": 64 columns × 16 rows). Threads past N do their whole K loop on clamped
 * addresses, so on N = 64 a 64-wide workgroup did 4× the work (SwiftShader: 77×256×64 took 3× as long as
 * 77×64×256).
 */
export type RowsKernelVariant = "regs4x4v4" | "regs4x4v4n16";
/**
 * Whether blocks of `size` cover `count` with at most 1/8 of them idle: the rule by which the CPU-adapter kernels
 * (rows, 16/64-row matmul, conv2d_cpu) fall back to a narrower workgroup.
 */
export const fillsBlocks = (count: number, size: number): boolean => Math.ceil(count / size) * size <= count * 1.125;
export const ROWS_KERNEL_SHAPES: Record<RowsKernelVariant, [number, number]> = { regs4x4v4: [GEMV_WG, 1], regs4x4v4n16: [16, 4] };
export const isRowsVariant = (v: string): v is RowsKernelVariant => v in ROWS_KERNEL_SHAPES;
/**
 * The rows kernel's shape for n output columns: the 16 × 4 one where 256-column workgroups would leave over 1/8
 * of their threads idle, on CPU adapters (where it was measured; GPUs keep the 64-wide one).
 */
export function rowsVariantFor(gpu: Gpu, n: number): RowsKernelVariant {
  const columns = 4 * ROWS_KERNEL_SHAPES.regs4x4v4[0];
  return gpu.ctx.caps.cpu && !fillsBlocks(n, columns) ? "regs4x4v4n16" : "regs4x4v4";
}
/** The grid of a rows-kernel dispatch (4 × 4 outputs per thread). */
export function rowsKernelGrid(variant: RowsKernelVariant, m: number, n: number, batch: number): [number, number, number] {
  const [x, y] = ROWS_KERNEL_SHAPES[variant];
  return [Math.ceil(n / 4 / x), Math.ceil(m / 4 / y), batch];
}

/** How B is stored: float [K, N] (matmul), float [N, K] (linear weight), packed int8/int4 [N, K] codes. */
export type MatmulB = "float-kn" | "float-nk" | "int8" | "int4";

export interface MatmulKey {
  variant: MatmulVariant;
  dtype: FloatDType;
  b: MatmulB;
  /** int4 with float zero points (W4A16). */
  zeroPoint: boolean;
  /** Per-output-channel scale applied once in the epilogue (int8 weight-only, torchao's order). */
  scaleInEpilogue: boolean;
  /** Quantized B: scales (and zero points) stored as f16 pairs in u32 words (src/ops/quant-weight.ts). */
  scalesF16: boolean;
  bias: boolean;
  residual: boolean;
  /** "runtime": bias, residual and activation chosen per dispatch by uniforms (EPILOGUE_UNIFORM; CPU variants). */
  act: Activation | "none" | "runtime";
  /** Tile variants: raw sums of one K slice per workgroup along z, epilogue left to split_k_sum.wgsl (split-k.ts). */
  splitK?: boolean;
}

export const matmulKernel = defineKernel<MatmulKey>({
  name: "matmul",
  file: "matmul.wgsl",
  defines: (k) => {
    const quant = k.b === "int8" || k.b === "int4";
    const base = {
      ...dtypeDefines(k.dtype),
      B_QUANT: quant,
      B_FLOAT: !quant,
      B_INT8: k.b === "int8",
      B_INT4: k.b === "int4",
      B_LAYOUT_NK: k.b !== "float-kn",
      B_ZERO_POINT: k.zeroPoint,
      SCALE_IN_EPILOGUE: k.scaleInEpilogue,
      SCALES_F16: quant && k.scalesF16,
      HAS_BIAS: k.bias,
      HAS_RESIDUAL: k.residual,
      [`ACT_${k.act.toUpperCase()}`]: true,
      EPILOGUE_UNIFORM: k.act === "runtime",
      SPLIT_K: !!k.splitK,
    };
    if (k.variant === "gemv") return { ...base, WG_SIZE: `${GEMV_WG}u` };
    if (k.variant === "gemvWg") return { ...base, WG_SIZE: `${GEMV_WG_SIZE}u`, LANES: `${GEMV_LANES}u` };
    if (isRowsVariant(k.variant)) return { ...base, WG_SIZE: ROWS_KERNEL_SHAPES[k.variant].map((d) => `${d}u`).join(", "), VEC4_AB: true };
    if (isCpuVariant(k.variant)) {
      const c = MATMUL_CPU_VARIANTS[k.variant];
      return { ...base, WG_SIZE: `${c.wg}u`, ROWS: `${c.rows}u`, ROWS_16: c.rows >= 16, ROWS_32: c.rows >= 32, ROWS_64: c.rows === 64, COLS_8: c.rows === 64, VEC4_AB: true, F16_WORDS: k.dtype === "f16" };
    }
    const t = MATMUL_TILE_VARIANTS[k.variant as MatmulTileVariant];
    return { ...base, TILE_M: `${t.tileM}u`, TILE_N: `${t.tileN}u`, TILE_K: `${t.tileK}u`, THREAD_M: `${t.threadM}u`, THREAD_ROWS_8: t.threadM === 8, VEC4_TILES: "vec4Tiles" in t && t.vec4Tiles };
  },
  label: (k) =>
    `matmul_${k.variant}_${k.dtype}_b${k.b}${k.zeroPoint ? "_zp" : ""}${k.scaleInEpilogue ? "_colscale" : ""}${k.scalesF16 ? "_s16" : ""}` +
    `${k.bias ? "_bias" : ""}_${k.act}${k.residual ? "_residual" : ""}${k.splitK ? "_splitk" : ""}`,
});

/** The gemv variant lives in its own file; same key, same hooks. */
export const matmulGemvKernel = defineKernel<MatmulKey>({ ...matmulKernel, name: "matmul_gemv", file: "matmul_gemv.wgsl" });
export const matmulGemvWgKernel = defineKernel<MatmulKey>({ ...matmulKernel, name: "matmul_gemv_wg", file: "matmul_gemv_wg.wgsl" });
export const matmulRowsKernel = defineKernel<MatmulKey>({ ...matmulKernel, name: "matmul_rows", file: "matmul_rows.wgsl" });
export const matmulCpuKernel = defineKernel<MatmulKey>({ ...matmulKernel, name: "matmul_cpu", file: "matmul_cpu.wgsl" });

/** The CPU-adapter variant picked by default where it fits (measured on lavapipe, kernels-bench/RESULTS.md). */
export const DEFAULT_CPU_VARIANT: MatmulCpuVariant = "cpuR16w32";
/**
 * "Small" work for the lavapipe kernel choices made for compile time: below this many FLOPs matmul_cpu and conv2d_cpu
 * take their 8-lane form for every shape (one pipeline per kernel, not one per workgroup width), attention_rows one
 * query row per thread, and stride-2 convs the implicit GEMM (conv2d.ts, attention.ts). lavapipe compiles a pipeline
 * at its first dispatch, 1–6 s for each of these kernels, while at this size the choices differ by microseconds to a
 * millisecond per call: the toy's cold first image went 36 → 15 s and its warm images stayed at 0.16–0.18 s
 * (kernels-bench/RESULTS.md, "Compile time at the first dispatch"). SD's smallest linear (77×768×320, SD 1.5's
 * cross-attention K/V) is 38 MFLOP, its smallest conv 1.9 GFLOP, so real models keep the rules below.
 */
export const SMALL_CPU_FLOPS = 2 ** 25;
/**
 * The 16-row variant for n output columns and `flops` of work: a cpuR16w32 workgroup covers 128 columns, and where
 * that leaves over 1/8 of them idle (n = 64, 96, 320, …) its 8-lane sibling (32 columns) runs instead: 256×320×320
 * 1.23×, 128×64×64 1.67×, 256×320×96 1.36× (lavapipe, interleaved; kernels-bench/RESULTS.md); below SMALL_CPU_FLOPS
 * always the 8-lane one.
 */
export function smallCpuVariant(n: number, flops: number): MatmulCpuVariant {
  const wide = MATMUL_CPU_VARIANTS[DEFAULT_CPU_VARIANT];
  const columns = cpuColumnsPerLane(wide) * wide.wg;
  return flops < SMALL_CPU_FLOPS || !fillsBlocks(n, columns) ? "cpuR16w8" : DEFAULT_CPU_VARIANT;
}
/**
 * From this many rows (one 64-row block) and SMALL_CPU_FLOPS of work, float linears take the 64-row CPU variant and
 * int weights the 32-row one (tallCpuLinear). Measured against 16 rows (lavapipe, interleaved; kernels-bench/
 * RESULTS.md, "Tall variants from 64 rows"): f32 1.3× at 77 rows (128 computed), 2.1–2.6× at 64–256 rows (SD's 16²
 * and 8² levels, CLIP's 77 and 154 tokens); W8A8 1.0–1.3×; W4A16 / W8A16 1.1–1.3×.
 */
export const TALL_CPU_ROWS = 64;
/**
 * W4A8's 32-row kernel from a 32² latent's tokens, and from TALL_CPU_ROWS where N fills its 128-column workgroups.
 * Measured against 16 rows (lavapipe, interleaved): on the first machine (sessions 4–10) 0.8–1.08× below 1024 rows
 * and 1.14–1.19× from 1024; on the AMD EPYC machine (session 14) 1.14–1.26× at 64–512 rows with N = 1280, 0.87× at
 * 77×1024×320 (N = 320 leaves 1/6 of its columns idle). kernels-bench/RESULTS.md, session 14.
 */
export const W4A8_TALL_ROWS = 1024;
/** Columns of one workgroup of the int 32-row kernel (INT_LARGE_CPU_VARIANT: 4 per lane × 32 lanes). */
export const INT_TALL_COLUMNS = 128;
/** Whether a CPU-adapter linear of m rows and `flops` of work takes the tall variant (TALL_CPU_ROWS); small models keep one 16-row pipeline per format. */
export const tallCpuLinear = (m: number, flops: number): boolean => m >= TALL_CPU_ROWS && flops >= SMALL_CPU_FLOPS;
export const LARGE_CPU_VARIANT: MatmulCpuVariant = "cpuR64w32";
/** The int-weight linears' tall variant (W4A16/W8A16 here, W8A8/W4A8 in quant-int-linear.ts). */
export const INT_LARGE_CPU_VARIANT: MatmulCpuVariant = "cpuR32w32";
/**
 * The large variant for n output columns: a cpuR64w32 workgroup covers 256 columns, so n = 320 (SD's 64² level)
 * computes 512, and its 64-column sibling cpuR64w8 is then 1.4× faster (4096×320×320, lavapipe); where 256 divides
 * n (or nearly), the two measured level to 10 % apart either way, and the wide one was faster in a main-bench run
 * (kernels-bench/RESULTS.md). Wasted columns above 1/8 pick the narrow one.
 */
export function largeCpuVariant(n: number): MatmulCpuVariant {
  const wide = MATMUL_CPU_VARIANTS[LARGE_CPU_VARIANT];
  const columns = cpuColumnsPerLane(wide) * wide.wg;
  return fillsBlocks(n, columns) ? LARGE_CPU_VARIANT : "cpuR64w8";
}
/** Subgroup size shaders/matmul_cpu.wgsl is written for (its broadcast lanes are constants). */
const CPU_KERNEL_SUBGROUP = 8;

/**
 * Whether the adapter runs the CPU-adapter kernels (matmul_cpu.wgsl and kin): a CPU adapter whose subgroups
 * are exactly 8 lanes (lavapipe at 256 bits), since their broadcast lanes are constants.
 */
export function hasCpuSubgroupKernels(gpu: Gpu): boolean {
  const caps = gpu.ctx.caps;
  return !!caps.cpu && !!caps.subgroups && caps.subgroupSizes?.[0] === CPU_KERNEL_SUBGROUP && caps.subgroupSizes[1] === CPU_KERNEL_SUBGROUP;
}

/**
 * shaders/matmul_cpu.wgsl runs where the adapter is a CPU one with subgroups of exactly 8 lanes
 * (lavapipe at 256 bits; SwiftShader's subgroups in Chromium are 4 lanes) and B is float [N, K] with vec4
 * views, per-channel int8 with K % 4 == 0, or int4 with K and the group size multiples of 32. Real GPUs keep the workgroup-memory tiles:
 * this kernel's per-lane B rows would be uncoalesced there.
 */
function cpuKernelFits(gpu: Gpu, r: MatmulRun, regsEligible: boolean, variant: MatmulCpuVariant): boolean {
  if (!hasCpuSubgroupKernels(gpu)) return false;
  // 64 rows × 8 columns serve float B only (COLS_8 has no int-code path); weight-only int B takes 32 rows.
  if (MATMUL_CPU_VARIANTS[variant].rows >= 64 && r.key.b !== "float-nk") return false;
  if (r.batch !== 1 && r.bBatchStride % Math.max(r.k, 1) !== 0) return false;
  if (r.key.b === "float-nk") return regsEligible;
  if (r.a.byteOffset % 16 !== 0) return false;
  // int8 weight-only (W8A16): per-channel codes, scale in the epilogue, one word per 4 k.
  if (r.key.b === "int8") return r.key.scaleInEpilogue && r.k % 4 === 0;
  const gs = r.groupSize ?? r.k;
  return r.key.b === "int4" && r.k % 32 === 0 && gs % 32 === 0;
}

/** Bias and residual bindings of an EPILOGUE_UNIFORM kernel: the real ones, or stand-ins its flags leave unread. */
export function epilogueBindings(a: Tensor, b: Tensor, bias?: Tensor, residual?: Tensor): { bias: Tensor; residual: Tensor } {
  return { bias: bias ?? b, residual: residual ?? a };
}

/** The uniforms that switch an EPILOGUE_UNIFORM kernel's epilogue (shaders/include/matmul_io.wgsl). */
export function epilogueUniforms(act: Activation | "none" | "runtime", bias?: Tensor, residual?: Tensor): { epilogue: number; act: number } {
  if (act === "runtime") throw new Error("epilogueUniforms: pass the op's activation, not \"runtime\"");
  return { epilogue: (bias ? 1 : 0) | (residual ? 2 : 0), act: ACTIVATION_IDS[act] };
}

/** Everything one matmul-family dispatch needs; shapes are already checked by the op. */
export interface MatmulRun {
  op: string;
  a: Tensor;
  b: Tensor;
  scales?: Tensor;
  zeros?: Tensor;
  bias?: Tensor;
  residual?: Tensor;
  /** Output shape (its last two dims are m, n; the rest is the batch). */
  outShape: number[];
  m: number;
  n: number;
  k: number;
  batch: number;
  aBatchStride: number;
  bBatchStride: number;
  groupSize?: number;
  wordsPerRow?: number;
  key: Omit<MatmulKey, "variant" | "dtype" | "bias" | "residual" | "scalesF16" | "splitK">;
  dtype: FloatDType;
  variant?: MatmulVariant;
  /**
   * K slices of a tile variant (tests, benchmarks). Default: 1 on CPU adapters; on GPUs `autoSplitK` (split-k.ts)
   * when the output has few tiles. Not for int8 weights whose scale is applied in the epilogue (W8A16): never split.
   */
  splitK?: number;
}

/** Picks the variant, checks binding sizes, dispatches, returns y. */
export async function runMatmul(gpu: Gpu, r: MatmulRun): Promise<Tensor> {
  // Nothing to compute; binding an empty operand where a kernel reads vec4s would fail validation.
  if (r.batch * r.m * r.n === 0) return gpu.empty(r.outShape, r.dtype, r.op);
  // vec4 views along K need K % 4 == 0 and 16-byte aligned bindings (pool tensors start at 0). Int weights in
  // matmul_rows.wgsl: whole code words per step (int8 per channel, scale in the epilogue; int4 K and groups in 8s).
  const rowsTakesB =
    r.key.b === "float-nk" ||
    (r.key.b === "int8" && r.key.scaleInEpilogue) ||
    (r.key.b === "int4" && r.k % 8 === 0 && (r.groupSize ?? r.k) % 8 === 0);
  // K = 0 (y = epilogue of zeros) binds empty operands, which a vec4 view cannot take.
  const regsEligible = rowsTakesB && r.k > 0 && r.k % 4 === 0 && r.a.byteOffset % 16 === 0 && r.b.byteOffset % 16 === 0;
  const cpuVariantFor = (v: MatmulCpuVariant) => (cpuKernelFits(gpu, r, regsEligible, v) ? v : undefined);
  const large = r.key.b === "float-nk" ? largeCpuVariant(r.n) : INT_LARGE_CPU_VARIANT;
  const flops = 2 * r.batch * r.m * r.n * r.k;
  const cpuDefault = (tallCpuLinear(r.m, flops) ? cpuVariantFor(large) : undefined) ?? cpuVariantFor(smallCpuVariant(r.n, flops));
  const rowsVariant = rowsVariantFor(gpu, r.n);
  const tiles = gpu.ctx.caps.cpu ? DEFAULT_TILE_VARIANT : GPU_TILE_VARIANT;
  const gpuTiles = !gpu.ctx.caps.cpu && r.m >= GPU_TILE_MIN_ROWS;
  const gemv = gpu.ctx.caps.cpu ? "gemv" : "gemvWg";
  let variant = r.variant ?? (r.m <= GEMV_MAX_ROWS ? gemv : cpuDefault ?? (regsEligible && !gpuTiles ? rowsVariant : tiles));
  if (isRowsVariant(variant) && !regsEligible) variant = tiles;
  if (isCpuVariant(variant) && !cpuVariantFor(variant)) variant = regsEligible ? rowsVariant : tiles;
  if (r.splitK !== undefined && (!Number.isInteger(r.splitK) || r.splitK < 1)) throw new OpInputError(r.op, `splitK must be a positive integer, got ${r.splitK}`);
  if (!MATMUL_VARIANTS.includes(variant)) {
    throw new OpInputError(r.op, `unknown variant "${variant}"; expected one of ${MATMUL_VARIANTS.join(", ")}`);
  }
  const bound: Record<string, Tensor> = { a: r.a, b: r.b };
  if (r.scales) bound.b_scales = r.scales;
  if (r.zeros) bound.b_zeros = r.zeros;
  if (r.bias) bound.bias = r.bias;
  if (r.residual) bound.residual = r.residual;
  // Tensors made elsewhere (views, imported buffers) may exceed one binding: fail here, naming the limit.
  for (const [name, t] of Object.entries(bound)) checkBindingSize(gpu.ctx, t.byteLength, `${r.op}: ${name} ${t}`);
  // f16 scales are an f16 tensor whose words the kernel unpacks (no shader-f16 needed).
  const scalesF16 = r.scales?.dtype === "f16";
  if (r.zeros && r.zeros.dtype !== r.scales?.dtype) throw new OpInputError(r.op, `zero points must be stored like the scales (${r.scales?.dtype}), got ${r.zeros.dtype}`);
  const cpuVariant = isCpuVariant(variant);
  // The CPU kernels compile one epilogue for all bias / residual / activation combinations (each
  // compile costs lavapipe seconds); absent operands are bound to inputs of the same dispatch, unread.
  const key: MatmulKey = cpuVariant
    ? { ...r.key, variant, dtype: r.dtype, scalesF16, bias: false, residual: false, act: "runtime" }
    : { ...r.key, variant, dtype: r.dtype, scalesF16, bias: !!r.bias, residual: !!r.residual };
  if (cpuVariant) Object.assign(bound, epilogueBindings(r.a, r.b, r.bias, r.residual));
  const spec = variant === "gemv" ? matmulGemvKernel : variant === "gemvWg" ? matmulGemvWgKernel : isRowsVariant(variant) ? matmulRowsKernel : cpuVariant ? matmulCpuKernel : matmulKernel;
  const gs = r.groupSize ?? Math.max(r.k, 1);
  const uniforms = {
    m: r.m,
    n: r.n,
    k: r.k,
    a_batch_stride: r.aBatchStride,
    b_batch_stride: r.bBatchStride,
    group_size: gs,
    groups_per_row: Math.max(1, Math.ceil(r.k / gs)),
    words_per_row: r.wordsPerRow ?? 0,
    ...(cpuVariant ? epilogueUniforms(r.key.act, r.bias, r.residual) : {}),
  };
  let grid: [number, number, number];
  if (variant === "gemv") grid = [Math.ceil(r.n / GEMV_WG), r.m, r.batch];
  else if (variant === "gemvWg") grid = [Math.ceil(r.n / (GEMV_WG_SIZE / GEMV_LANES)), r.m, r.batch];
  else if (isRowsVariant(variant)) grid = rowsKernelGrid(variant, r.m, r.n, r.batch);
  else if (isCpuVariant(variant)) {
    const c = MATMUL_CPU_VARIANTS[variant];
    grid = [Math.ceil(r.n / cpuColumnsPerLane(c) / c.wg), Math.ceil(r.m / c.rows), r.batch];
  }
  else {
    const t = MATMUL_TILE_VARIANTS[variant as MatmulTileVariant];
    grid = [Math.ceil(r.n / t.tileN), Math.ceil(r.m / t.tileM), r.batch];
    // Split along K where the output has few tiles (GPUs), unless the epilogue owns a column scale (W8A16).
    const kTiles = Math.ceil(r.k / t.tileK);
    const requested = r.splitK ?? (gpu.ctx.caps.cpu ? 1 : autoSplitK(grid[0] * grid[1] * r.batch, kTiles));
    const outBytes = r.batch * r.m * r.n * 4;
    const { slices, sliceTiles } = kSlices(gpu, r.key.scaleInEpilogue ? 1 : requested, kTiles, outBytes);
    if (slices > 1 && outBytes > 0) {
      return splitMatmul(gpu, r, key, bound, { ...uniforms, k_slice: sliceTiles * t.tileK, batches: r.batch }, [grid[0], grid[1], r.batch * slices], slices);
    }
  }
  const kernel = await gpu.kernel(spec, key);
  const y = gpu.empty(r.outShape, r.dtype, r.op);
  bound.y = y;
  gpu.dispatch(kernel, bound, uniforms, grid);
  return y;
}

/** A tile matmul in `slices` K slices: raw sums into f32 partials, then split_k_sum.wgsl with the run's epilogue. */
async function splitMatmul(gpu: Gpu, r: MatmulRun, key: MatmulKey, bound: Record<string, Tensor>, uniforms: Record<string, number>, grid: number[], slices: number): Promise<Tensor> {
  const kernel = await gpu.kernel(matmulKernel, { ...key, bias: false, residual: false, act: "none", splitK: true });
  const { bias: _bias, residual: _residual, ...operands } = bound;
  const act = r.key.act === "runtime" ? "none" : r.key.act;
  return runSplitK(gpu, kernel, operands, uniforms, grid, slices, r.outShape, r.dtype, { bias: r.bias, residual: r.residual, act, inner: 1, channels: r.n }, r.op);
}

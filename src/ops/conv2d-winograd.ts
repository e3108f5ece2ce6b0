/**
 * 3×3, stride-1, padding-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray 2016): an input transform
 * (winograd_input.wgsl), 16 independent GEMMs [N·T, Cin] · [Cin, Cout] on the batched matmul, and an output transform
 * (winograd_output.wgsl), T = ⌈H/2⌉·⌈W/2⌉ tiles of 2×2 outputs. The GEMMs do 16 multiply-adds per tile and channel
 * pair where the direct conv does 36. On lavapipe they run as fast per FLOP as the direct conv2d_cpu: measured
 * 2.3–2.6× it before the transforms (kernels-bench/RESULTS.md). On GPUs they run the matmul tiles, which reached 47 %
 * of the H200's FMA probe where the implicit-GEMM conv reached 18–29 % (not yet timed as Winograd on a GPU). The
 * weight transform (winograd_weights.wgsl) runs per call: keeping U = G g Gᵀ would hold 16/9 of every 3×3 weight for
 * the model's life.
 */
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, gridFor, type FloatDType } from "./common.ts";
import { matmul } from "./matmul.ts";
import { GPU_TILE_VARIANT, hasCpuSubgroupKernels, MATMUL_TILE_VARIANTS, SMALL_CPU_FLOPS, type MatmulVariant } from "./matmul-kernel.ts";

export const winogradWeightsKernel = defineKernel<{ dtype: FloatDType }>({
  name: "winograd_weights",
  file: "winograd_weights.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `winograd_weights_${k.dtype}`,
});

export const winogradInputKernel = defineKernel<{ dtype: FloatDType }>({
  name: "winograd_input",
  file: "winograd_input.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u` }),
  label: (k) => `winograd_input_${k.dtype}`,
});

export const winogradOutputKernel = defineKernel<{ dtype: FloatDType; bias: boolean }>({
  name: "winograd_output",
  file: "winograd_output.wgsl",
  defines: (k) => ({ ...dtypeDefines(k.dtype), WG_SIZE: `${ELEMENTWISE_WG}u`, HAS_BIAS: k.bias }),
  label: (k) => `winograd_output${k.bias ? "_bias" : ""}_${k.dtype}`,
});

/** Narrower GEMMs did not beat the direct kernel (64 → 64 at 32²: 0.92×; 128 → 128 at 16²: 1.12×). */
export const WINOGRAD_MIN_CHANNELS = 128;
/**
 * Rows of each GEMM: 16² maps (64 tiles) measured 1.7–1.9× the direct kernel, 8² maps (16 tiles) 0.66–0.82× (the
 * per-call weight transform outweighs the GEMMs' saving there).
 */
export const WINOGRAD_MIN_TILES = 64;

/** Output tiles of a conv on an h × w image (2 × 2 each). */
export const winogradTiles = (h: number, w: number) => Math.ceil(h / 2) * Math.ceil(w / 2);

/**
 * Most bytes of one V band, M band and (on CPU adapters) U chunk. The whole of U is 16/9 of the weight (SD's 2560 →
 * 1280 convs: 210 MB in f32) and V at SD's 64² level with 960 channels 63 MB, so these temporaries, not the model's
 * activations, set the peak of a float UNet step; in 32 MiB pieces they stay below its GEGLU (63 MB at 512²). A GPU
 * that binds 2 GiB would otherwise hold the SDXL VAE's 1024² stage as one 2.1 GB band. Smaller pieces cost more
 * dispatches: the GEMMs keep hundreds of rows and columns at SD's sizes.
 */
export const WINOGRAD_MAX_TRANSIENT_BYTES = 32 * 1024 * 1024;

/**
 * Most bytes of one U chunk on GPUs. A chunk's output channels are the GEMMs' N: SD's 1280-channel convs at 16² give
 * 160 workgroups of matmul tiles in one chunk and 48 in chunks of 320, too few for a GPU of 100+ cores (they would be
 * split along K). A GPU has the memory for 105 MB of U; CPU adapters keep 32 MiB (measured level there).
 */
export const WINOGRAD_GPU_MAX_U_BYTES = 128 * 1024 * 1024;

/** Bytes one V band or M band may take: one binding, and at most WINOGRAD_MAX_TRANSIENT_BYTES. */
const transientBytes = (gpu: Gpu) => Math.min(gpu.ctx.caps.limits.maxStorageBufferBindingSize, WINOGRAD_MAX_TRANSIENT_BYTES);
/** Bytes one U chunk may take: one binding, and at most WINOGRAD_MAX_TRANSIENT_BYTES (WINOGRAD_GPU_MAX_U_BYTES on GPUs). */
const uChunkBytes = (gpu: Gpu) => Math.min(gpu.ctx.caps.limits.maxStorageBufferBindingSize, gpu.ctx.caps.cpu ? WINOGRAD_MAX_TRANSIENT_BYTES : WINOGRAD_GPU_MAX_U_BYTES);

/**
 * How a conv's temporaries are cut: U [16, chunk, Cin] in chunks of output channels of equal size (in multiples of 64
 * channels where that fits) within uChunkBytes, V [16, band, Cin] and M [16, band, chunk] in bands of tiles within
 * transientBytes. One U chunk is alive at a time. A chunk or band of 0 means the conv cannot run this way.
 */
export function winogradPlan(gpu: Gpu, n: number, cin: number, cout: number, h: number, w: number, elementBytes: number): { chunk: number; band: number } {
  const bytes = transientBytes(gpu);
  const maxChunk = Math.min(cout, Math.floor(uChunkBytes(gpu) / (16 * cin * elementBytes)));
  let chunk = maxChunk;
  if (maxChunk >= 1 && maxChunk < cout) {
    const even = Math.ceil(cout / Math.ceil(cout / maxChunk));
    const rounded = Math.ceil(even / 64) * 64;
    chunk = rounded <= maxChunk ? rounded : even;
  }
  const band = Math.min(n * winogradTiles(h, w), Math.floor(bytes / (16 * Math.max(cin, chunk) * elementBytes)));
  return { chunk, band };
}

/**
 * Whether this path can run a float 3×3 stride-1 pad-1 conv: Cin a multiple of 4 (the vec4 K of the CPU matmul
 * kernel) and the weight within one binding. U goes in chunks of output channels and V, M in bands of tiles
 * (winogradPlan; the VAE's 512² stage: V would be 512 MiB whole).
 */
export function winogradApplies(gpu: Gpu, n: number, cin: number, cout: number, h: number, w: number, elementBytes: number): boolean {
  const limit = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
  const { chunk, band } = winogradPlan(gpu, n, cin, cout, h, w, elementBytes);
  return cin % 4 === 0 && cout * cin * 9 * elementBytes <= limit && chunk >= 1 && band >= 1;
}

/**
 * Whether conv2d takes this path by default, for wide channels (WINOGRAD_MIN_CHANNELS) where it applies:
 * - on lavapipe-style adapters (8-lane subgroup kernels), from WINOGRAD_MIN_TILES tiles and SMALL_CPU_FLOPS, as measured;
 * - on GPUs from one full row of matmul tiles (GPU_TILE_ROWS = 64 tiles: SD's 64², 32² and 16² levels at 512²); the
 *   16 GEMMs run the tiles (winogradGemmVariant), whose batch of 16 fills the grid where one GEMM of 64 rows would not.
 *   Not yet timed on a GPU: the offline run (scripts/offline-bench) times it against the implicit GEMM.
 * Other CPU adapters (SwiftShader) keep their direct conv kernel.
 */
export function winogradFits(gpu: Gpu, n: number, cin: number, cout: number, h: number, w: number, elementBytes: number): boolean {
  if (cin < WINOGRAD_MIN_CHANNELS || cout < WINOGRAD_MIN_CHANNELS || !winogradApplies(gpu, n, cin, cout, h, w, elementBytes)) return false;
  const tiles = n * winogradTiles(h, w);
  if (!gpu.ctx.caps.cpu) return tiles >= GPU_TILE_ROWS;
  return hasCpuSubgroupKernels(gpu) && tiles >= WINOGRAD_MIN_TILES && 2 * n * cout * cin * 9 * h * w >= SMALL_CPU_FLOPS;
}

/** Rows of one GPU matmul tile (GPU_TILE_VARIANT's tileM). */
const GPU_TILE_ROWS = MATMUL_TILE_VARIANTS[GPU_TILE_VARIANT].tileM;

/**
 * The GEMMs' kernel: on GPUs the matmul tiles at any row count (below GPU_TILE_MIN_ROWS a lone linear takes the rows
 * kernel, whose few workgroups the tiles would not fill; here 16 GEMMs are one dispatch); elsewhere matmul's choice.
 */
const winogradGemmVariant = (gpu: Gpu): MatmulVariant | undefined => (gpu.ctx.caps.cpu ? undefined : GPU_TILE_VARIANT);

/** y = conv3x3(x, weight, stride 1, padding 1) + bias, x [N, Cin, H, W], float weight [Cout, Cin, 3, 3] (shapes checked by conv2d). */
export async function conv3x3Winograd(gpu: Gpu, x: Tensor, weight: Tensor, bias: Tensor | null, dtype: FloatDType): Promise<Tensor> {
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const cout = weight.shape[0]!;
  const tilesW = Math.ceil(w / 2);
  const tiles = winogradTiles(h, w);
  const elementBytes = x.byteLength / Math.max(x.numel, 1);
  const rows = n * tiles;
  const { chunk, band } = winogradPlan(gpu, n, cin, cout, h, w, elementBytes);
  const bands = Math.ceil(rows / band);
  const y = gpu.empty([n, cout, h, w], dtype, "conv2d");
  // One chunk of U alive at a time (it is the largest temporary). With one band, its V is made once and kept for every
  // chunk; with several bands and chunks, each chunk makes the bands' V again (large images with wide weights only).
  let onlyV: Tensor | undefined;
  try {
    const transform = await gpu.kernel(winogradWeightsKernel, { dtype });
    const input = await gpu.kernel(winogradInputKernel, { dtype });
    const output = await gpu.kernel(winogradOutputKernel, { dtype, bias: !!bias });
    const makeV = (nt0: number, count: number): Tensor => {
      const v = gpu.empty([16, count, cin], dtype, "winograd_v");
      gpu.dispatch(input, { x, v }, { count: count * cin, c: cin, h, w, tiles_w: tilesW, tiles, nt0 }, gridFor(gpu, count * cin));
      return v;
    };
    for (let co0 = 0; co0 < cout; co0 += chunk) {
      const c = Math.min(chunk, cout - co0);
      const u = gpu.empty([16, c, cin], dtype, "winograd_u");
      try {
        gpu.dispatch(transform, { g: weight, u }, { count: c * cin, first: co0 * cin }, gridFor(gpu, c * cin));
        for (let nt0 = 0; nt0 < rows; nt0 += band) {
          const count = Math.min(band, rows - nt0);
          const v = bands === 1 ? (onlyV ??= makeV(nt0, count)) : makeV(nt0, count);
          try {
            const m = await matmul(gpu, v, u, { transposeB: true, variant: winogradGemmVariant(gpu) }); // [16, count, c]
            try {
              const bindings: Record<string, Tensor> = { m, y };
              if (bias) bindings.bias = bias;
              gpu.dispatch(output, bindings, { count: count * c, cout: c, h, w, tiles_w: tilesW, tiles, nt0, co0, y_channels: cout }, gridFor(gpu, count * c));
            } finally {
              m.dispose();
            }
          } finally {
            if (bands > 1) v.dispose();
          }
        }
      } finally {
        u.dispose();
      }
    }
    return y;
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    onlyV?.dispose();
  }
}

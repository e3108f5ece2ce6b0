/**
 * 3×3, stride-1, padding-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray 2016) on CPU adapters: an input
 * transform (winograd_input.wgsl), 16 independent GEMMs [N·T, Cin] · [Cin, Cout] run by the batched CPU matmul
 * kernel, and an output transform (winograd_output.wgsl), T = ⌈H/2⌉·⌈W/2⌉ tiles of 2×2 outputs. The GEMMs do 16
 * multiply-adds per tile and channel pair where the direct conv does 36, and on lavapipe they run as fast per FLOP:
 * measured 2.3–2.6× the direct conv2d_cpu before the transforms (kernels-bench/RESULTS.md). The weight transform
 * (winograd_weights.wgsl) runs per call: keeping U = G g Gᵀ would hold 16/9 of every 3×3 weight for the model's life.
 */
import { defineKernel, dtypeDefines } from "../gpu/kernel.ts";
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, gridFor, type FloatDType } from "./common.ts";
import { matmul } from "./matmul.ts";
import { hasCpuSubgroupKernels, SMALL_CPU_FLOPS } from "./matmul-kernel.ts";

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
/** Rows of each GEMM: SD's smallest maps (8² at 512², 16 tiles) still measured 3.1× the direct kernel. */
export const WINOGRAD_MIN_TILES = 16;

/** Output tiles of a conv on an h × w image (2 × 2 each). */
export const winogradTiles = (h: number, w: number) => Math.ceil(h / 2) * Math.ceil(w / 2);

/** Tiles per band: V [16, band, Cin] and M [16, band, Cout] each within one binding. */
function bandTiles(gpu: Gpu, cin: number, cout: number, elementBytes: number): number {
  return Math.floor(gpu.ctx.caps.limits.maxStorageBufferBindingSize / (16 * Math.max(cin, cout) * elementBytes));
}

/**
 * Whether this path can run a float 3×3 stride-1 pad-1 conv: on lavapipe-style adapters (the GEMMs are the CPU matmul
 * kernel's; GPUs keep the kernels measured there), with Cin a multiple of 4 (that kernel's K) and U [16, Cout, Cin]
 * within one binding (SD's 2560 → 1280 convs: 200 MB in f32). V and M go in bands of tiles that fit (the VAE's 512²
 * stage: V would be 512 MiB whole).
 */
export function winogradApplies(gpu: Gpu, n: number, cin: number, cout: number, h: number, w: number, elementBytes: number): boolean {
  const limit = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
  return hasCpuSubgroupKernels(gpu) && cin % 4 === 0 && 16 * cin * cout * elementBytes <= limit && bandTiles(gpu, cin, cout, elementBytes) >= 1;
}

/** Whether conv2d takes this path by default: where it applies, for wide channels and work above SMALL_CPU_FLOPS. */
export function winogradFits(gpu: Gpu, n: number, cin: number, cout: number, h: number, w: number, elementBytes: number): boolean {
  return (
    winogradApplies(gpu, n, cin, cout, h, w, elementBytes) &&
    cin >= WINOGRAD_MIN_CHANNELS &&
    cout >= WINOGRAD_MIN_CHANNELS &&
    n * winogradTiles(h, w) >= WINOGRAD_MIN_TILES &&
    2 * n * cout * cin * 9 * h * w >= SMALL_CPU_FLOPS
  );
}

/** y = conv3x3(x, weight, stride 1, padding 1) + bias, x [N, Cin, H, W], float weight [Cout, Cin, 3, 3] (shapes checked by conv2d). */
export async function conv3x3Winograd(gpu: Gpu, x: Tensor, weight: Tensor, bias: Tensor | null, dtype: FloatDType): Promise<Tensor> {
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const cout = weight.shape[0]!;
  const tilesW = Math.ceil(w / 2);
  const tiles = winogradTiles(h, w);
  const elementBytes = x.byteLength / Math.max(x.numel, 1);
  const rows = n * tiles;
  const band = Math.min(rows, bandTiles(gpu, cin, cout, elementBytes));
  const u = gpu.empty([16, cout, cin], dtype, "winograd_u");
  const y = gpu.empty([n, cout, h, w], dtype, "conv2d");
  try {
    gpu.dispatch(await gpu.kernel(winogradWeightsKernel, { dtype }), { g: weight, u }, { count: cout * cin }, gridFor(gpu, cout * cin));
    const input = await gpu.kernel(winogradInputKernel, { dtype });
    const output = await gpu.kernel(winogradOutputKernel, { dtype, bias: !!bias });
    for (let nt0 = 0; nt0 < rows; nt0 += band) {
      const count = Math.min(band, rows - nt0);
      const v = gpu.empty([16, count, cin], dtype, "winograd_v");
      let m: Tensor;
      try {
        gpu.dispatch(input, { x, v }, { count: count * cin, c: cin, h, w, tiles_w: tilesW, tiles, nt0 }, gridFor(gpu, count * cin));
        m = await matmul(gpu, v, u, { transposeB: true }); // [16, count, Cout]
      } finally {
        v.dispose();
      }
      try {
        const bindings: Record<string, Tensor> = { m, y };
        if (bias) bindings.bias = bias;
        gpu.dispatch(output, bindings, { count: count * cout, cout, h, w, tiles_w: tilesW, tiles, nt0 }, gridFor(gpu, count * cout));
      } finally {
        m.dispose();
      }
    }
    return y;
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    u.dispose();
  }
}

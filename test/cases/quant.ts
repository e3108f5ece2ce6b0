/**
 * Quantized linears through the adapter's own path (its block quantizer and its integer kernel), run by vitest in
 * Node (lavapipe: subgroup quantizer, matmul_cpu.wgsl) and by the headless Chromium page (SwiftShader: one thread
 * per block, matmul_rows.wgsl on int8 codes). The golden torchao cases run in Node only; this keeps SwiftShader's
 * integer path under test too.
 */
import type { Gpu } from "../../src/gpu/runtime.ts";
import { linear } from "../../src/ops/linear.ts";
import { quantizedLinear } from "../../src/ops/quant-linear.ts";
import { disposeQuantizedWeight, uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { quantizeWeightOnGpu } from "../../src/ops/quant-blocks.ts";
import { QUANT_Y_TOL } from "../../src/ops/quant-golden.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { bitExact, relativeMaxError } from "../../src/verify/compare.ts";
import { assert } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";

const SCHEMES: QuantSchemeId[] = ["W8A16", "W4A16", "W8A8", "W4A8"];

/**
 * W4A8 inputs at the extremes of the integer sums (also used by test/ops/quant-linear.test.ts): rows all +c (codes
 * 127, zero −128), all −c (codes −128, zero 127), alternating, random signs, random, so |code − zero| reaches 255;
 * columns all −1 (codes −8), all +1 (7), then random ±1. A K group's sum reaches 2040 per k (65280 at 32 k).
 */
export function w4a8ExtremeInputs(): { m: number; n: number; k: number; xv: Float32Array; wv: Float32Array } {
  const [m, n, k, c] = [5, 6, 256, 1.5];
  const sign = seeded(m * n * k, 21, -1, 1);
  const rows = [() => c, () => -c, (j: number) => (j % 2 ? c : -c), (j: number) => (sign[j]! < 0 ? -c : c), (j: number) => sign[k + j]! * c];
  const xv = Float32Array.from({ length: m * k }, (_, i) => rows[Math.floor(i / k)]!(i % k));
  const wv = Float32Array.from({ length: n * k }, (_, i) => (i < k ? -1 : i < 2 * k ? 1 : sign[2 * k + i]! < 0 ? -1 : 1));
  return { m, n, k, xv, wv };
}

export const quantCases: KernelCase[] = [
  {
    name: "quantized linears (W8A16, W4A16, W8A8, W4A8) on the adapter's quantizer and kernels match src/quant",
    async run(gpu: Gpu) {
      // M = 13 and N = 37 are not tile multiples; K = 96 is three int4 groups of 32 (whole words for every kernel).
      const [m, n, k] = [13, 37, 96];
      const xv = seeded(m * k, 41, -2, 2);
      const wv = seeded(n * k, 42, -1, 1);
      const bv = seeded(n, 43);
      const x = gpu.upload(xv, [m, k]);
      const w = gpu.upload(wv, [n, k]);
      const b = gpu.upload(bv, [n]);
      for (const scheme of SCHEMES) {
        const f = QUANT_FORMATS[scheme];
        const gs = f.weight.bits === 4 ? 32 : "per-channel";
        const cpu = packWeight(f, quantizeWeight(wv, n, k, f, gs));
        const qw = await quantizeWeightOnGpu(gpu, w, f, gs);
        // The GPU quantizer is bit-exact with the CPU one (same float32 operations, correctly rounded division).
        assert(bitExact((await gpu.download(qw.codes)) as Uint32Array, cpu.words), `${scheme}: GPU-quantized words differ from src/quant`);
        const y = await linear(gpu, x, qw, b);
        // README of golden/quant: Y within 1e-5 of max|Y| (f32 summation order differs from the reference's).
        const err = relativeMaxError(await gpu.read(y), quantizedLinearReference(xv, cpu, bv));
        assert(err <= QUANT_Y_TOL, `${scheme}: relative error ${err.toExponential(3)} > ${QUANT_Y_TOL}`);
        y.dispose();
        disposeQuantizedWeight(qw);
      }
      for (const t of [x, w, b]) t.dispose();
    },
  },
  {
    name: "W4A8 on the rows kernel (SwiftShader's) at the extremes of its 16-bit field sums: linear_int8's bits, groups of 32 and 256",
    async run(gpu: Gpu) {
      // Activation codes ±127/−128 against zero points at the other end (|code − zero| = 255) and weight codes −8 / 7:
      // every 16-bit field of matmul_rows.wgsl's pair sums gets as close to 2^16 as the format allows before its
      // read-out, so a field that overflowed, or a group sum that lost a product, changes the bits.
      const f = QUANT_FORMATS.W4A8;
      const { m, n, k, xv, wv } = w4a8ExtremeInputs();
      const x = gpu.upload(xv, [m, k]);
      for (const group of [32, 256]) {
        const packed = packWeight(f, quantizeWeight(wv, n, k, f, group));
        const qw = uploadQuantizedWeight(gpu, packed);
        const [rowsOut, scalarOut] = [await quantizedLinear(gpu, x, qw, undefined, { intKernel: "rows" }), await quantizedLinear(gpu, x, qw, undefined, { intKernel: "scalar" })];
        const [rowsY, scalarY] = [await gpu.read(rowsOut), await gpu.read(scalarOut)];
        rowsOut.dispose();
        scalarOut.dispose();
        assert(bitExact(rowsY, scalarY), `group ${group}: the rows kernel's W4A8 differs from linear_int8.wgsl's scalar path`);
        const err = relativeMaxError(rowsY, quantizedLinearReference(xv, packed, null));
        assert(err <= QUANT_Y_TOL, `group ${group}: relative error ${err.toExponential(3)} > ${QUANT_Y_TOL}`);
        disposeQuantizedWeight(qw);
      }
      x.dispose();
    },
  },
];

/**
 * Quantized linears through the adapter's own path (its block quantizer and its integer kernel), run by vitest in
 * Node (lavapipe: subgroup quantizer, matmul_cpu.wgsl) and by the headless Chromium page (SwiftShader: one thread
 * per block, matmul_rows.wgsl on int8 codes). The golden torchao cases run in Node only; this keeps SwiftShader's
 * integer path under test too.
 */
import type { Gpu } from "../../src/gpu/runtime.ts";
import { linear } from "../../src/ops/linear.ts";
import { quantizeWeightOnGpu } from "../../src/ops/quant-blocks.ts";
import { QUANT_Y_TOL } from "../../src/ops/quant-golden.ts";
import { disposeQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { bitExact, relativeMaxError } from "../../src/verify/compare.ts";
import { assert } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";

const SCHEMES: QuantSchemeId[] = ["W8A16", "W4A16", "W8A8", "W4A8"];

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
];

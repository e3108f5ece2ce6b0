import { describe, expect, it } from "vitest";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import { OpInputError } from "../../src/gpu/errors.ts";
import { linear } from "../../src/ops/linear.ts";
import { matmul } from "../../src/ops/matmul.ts";
import { MATMUL_VARIANTS } from "../../src/ops/matmul-kernel.ts";
import { maxAbsError } from "../../src/verify/compare.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

/** float64 batched a [B, M, K] @ b [B or 1, K, N]. */
function refMatmul(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, bBroadcast: boolean): Float64Array {
  const y = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const bo = bBroadcast ? 0 : z * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += a[z * m * k + i * k + c]! * b[bo + c * n + j]!;
        y[z * m * n + i * n + j] = s;
      }
  }
  return y;
}

/** Values exactly representable in f16 (so the f16 upload is lossless and the float64 reference exact). */
const roundF16 = (v: Float32Array) => Float32Array.from(v, (x) => f16BitsToF32(f32ToF16Bits(x)));

/** README bound for float32 matmul vs float64: 1e-5·√K·max|a|·max|b| absolute (inputs here are in [−1, 1)). */
const f32Bound = (k: number) => 1e-5 * Math.sqrt(Math.max(k, 1));

// Awkward shapes: one row, tile edges (13, 33, 65, 70), K = 1, K not a multiple of 4, N = 5.
const SHAPES: [number, number, number][] = [
  [1, 37, 5],
  [13, 1, 7],
  [13, 37, 5],
  [5, 77, 33],
  [70, 45, 67],
  [65, 64, 68],
  [1, 320, 130],
];

describe("matmul (f32)", () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: awkward shapes match float64`, async () => {
      const gpu = await testGpu();
      for (const [m, k, n] of SHAPES) {
        const av = seededFloats(m * k, 11 + m, -1, 1);
        const bv = seededFloats(k * n, 29 + n, -1, 1);
        const a = gpu.upload(av, [m, k]);
        const b = gpu.upload(bv, [k, n]);
        const y = await matmul(gpu, a, b, { variant });
        expect(y.shape).toEqual([m, n]);
        const err = maxAbsError(await gpu.read(y), refMatmul(av, bv, 1, m, k, n, false));
        expect(err, `${variant} M${m} K${k} N${n}`).toBeLessThanOrEqual(f32Bound(k));
        for (const t of [a, b, y]) t.dispose();
      }
    });
  }

  it("batched [2,3,9,17] @ [2,3,17,11] and a broadcast b", async () => {
    const gpu = await testGpu();
    const [m, k, n] = [9, 17, 11];
    const av = seededFloats(6 * m * k, 3);
    const bv = seededFloats(6 * k * n, 4);
    const a = gpu.upload(av, [2, 3, m, k]);
    const b = gpu.upload(bv, [2, 3, k, n]);
    for (const variant of ["t32x32k16", "gemv", "gemvWg"] as const) {
      const y = await matmul(gpu, a, b, { variant });
      expect(y.shape).toEqual([2, 3, m, n]);
      expect(maxAbsError(await gpu.read(y), refMatmul(av, bv, 6, m, k, n, false))).toBeLessThanOrEqual(f32Bound(k));
      y.dispose();
    }
    const b2 = gpu.upload(bv.subarray(0, k * n), [k, n]);
    const y2 = await matmul(gpu, a, b2);
    expect(y2.shape).toEqual([2, 3, m, n]);
    expect(maxAbsError(await gpu.read(y2), refMatmul(av, bv, 6, m, k, n, true))).toBeLessThanOrEqual(f32Bound(k));
    for (const t of [a, b, b2, y2]) t.dispose();
  });

  // a @ bᵀ with b stored [..., N, K]: the layout the CPU kernels read (matmul_cpu.wgsl batches B by whole rows).
  // Batched with per-batch b, and with one b broadcast; K = 64 and 36 take the vec4 kernels, K = 37 the fallbacks.
  it("transposeB: every variant, batched and broadcast, matches float64", async () => {
    const gpu = await testGpu();
    const transpose = (v: Float32Array, batch: number, rows: number, cols: number) => {
      const t = new Float32Array(v.length);
      for (let z = 0; z < batch; z++) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[z * rows * cols + j * rows + i] = v[z * rows * cols + i * cols + j]!;
      return t;
    };
    for (const variant of [undefined, ...MATMUL_VARIANTS]) {
      for (const [batch, m, k, n] of [[2, 70, 64, 33], [3, 13, 36, 9], [2, 5, 37, 11]] as const) {
        const av = seededFloats(batch * m * k, 5 + m, -1, 1);
        const btv = seededFloats(batch * n * k, 7 + n, -1, 1); // [batch, n, k]
        const a = gpu.upload(av, [batch, m, k]);
        const bt = gpu.upload(btv, [batch, n, k]);
        const y = await matmul(gpu, a, bt, { variant, transposeB: true });
        expect(y.shape).toEqual([batch, m, n]);
        const ref = refMatmul(av, transpose(btv, batch, n, k), batch, m, k, n, false);
        expect(maxAbsError(await gpu.read(y), ref), `${variant ?? "default"} B${batch} M${m} K${k} N${n}`).toBeLessThanOrEqual(f32Bound(k));
        const b1 = gpu.upload(btv.subarray(0, n * k), [n, k]);
        const y1 = await matmul(gpu, a, b1, { variant, transposeB: true });
        const ref1 = refMatmul(av, transpose(btv.subarray(0, n * k), 1, n, k), batch, m, k, n, true);
        expect(maxAbsError(await gpu.read(y1), ref1), `${variant ?? "default"} broadcast b, M${m} K${k} N${n}`).toBeLessThanOrEqual(f32Bound(k));
        for (const t of [a, bt, y, b1, y1]) t.dispose();
      }
    }
    const a = gpu.upload(seededFloats(12, 1), [3, 4]);
    const b = gpu.upload(seededFloats(15, 2), [3, 5]);
    await expect(matmul(gpu, a, b, { transposeB: true })).rejects.toThrow(/b \[3, 5\] has K = 5 .*b \[\.\.\., N, K\]/);
    for (const t of [a, b]) t.dispose();
  });

  it("empty shapes: an empty batch on one side gives an empty batch, K = 0 gives the epilogue of zeros (act(bias) for linear)", async () => {
    const gpu = await testGpu();
    const up = (shape: number[]) => gpu.upload(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    for (const [a, b, transposeB] of [[[0, 3, 4], [4, 5], false], [[3, 4], [0, 4, 5], false], [[0, 3, 4], [5, 4], true]] as const) {
      const y = await matmul(gpu, up([...a]), up([...b]), { transposeB });
      expect(y.shape).toEqual([0, 3, 5]);
    }
    const bias = gpu.upload(Float32Array.from([1, 2, 3, 4, 5]), [5]);
    const y = await linear(gpu, up([3, 0]), up([5, 0]), bias);
    expect(Array.from(await gpu.read(y))).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
    expect(Array.from(await gpu.read(await matmul(gpu, up([2, 0]), up([0, 3]))))).toEqual([0, 0, 0, 0, 0, 0]);
    // A later op on the same device still works (an invalid binding would have poisoned it).
    expect((await gpu.read(await matmul(gpu, gpu.upload(Float32Array.from([2]), [1, 1]), gpu.upload(Float32Array.from([3]), [1, 1]))))[0]).toBe(6);
  });

  it("rejects mismatched K and batch dims, naming both shapes", async () => {
    const gpu = await testGpu();
    const a = gpu.upload(seededFloats(12, 1), [3, 4]);
    const b = gpu.upload(seededFloats(15, 2), [5, 3]);
    await expect(matmul(gpu, a, b)).rejects.toThrow(/a \[3, 4\] has K = 4 but b \[5, 3\] has K = 5/);
    const a3 = gpu.upload(seededFloats(24, 1), [2, 3, 4]);
    const b3 = gpu.upload(seededFloats(36, 1), [3, 4, 3]);
    await expect(matmul(gpu, a3, b3)).rejects.toThrow(OpInputError);
    await expect(matmul(gpu, a3, b3)).rejects.toThrow(/\[2, 3, 4\].*\[3, 4, 3\]/);
    for (const t of [a, b, a3, b3]) t.dispose();
  });
});

describe("matmul (f16 storage, f32 accumulate)", () => {
  it("every variant matches float64 on f16-rounded inputs", async () => {
    const gpu = await testGpu();
    // The adapter decides whether this runs the f16 path; without shader-f16 the op must refuse f16.
    if (!gpu.ctx.caps.f16) {
      const a = gpu.upload(seededFloats(4, 1), [2, 2], "f32");
      expect(a.dtype).toBe("f32");
      return;
    }
    for (const variant of MATMUL_VARIANTS) {
      for (const [m, k, n] of SHAPES) {
        const av = roundF16(seededFloats(m * k, 5 + k, -1, 1));
        const bv = roundF16(seededFloats(k * n, 6 + n, -1, 1));
        const a = gpu.upload(av, [m, k], "f16");
        const b = gpu.upload(bv, [k, n], "f16");
        const y = await matmul(gpu, a, b, { variant });
        expect(y.dtype).toBe("f16");
        const want = refMatmul(av, bv, 1, m, k, n, false);
        const maxRef = want.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
        // Exact f16 inputs, f32 sums, one f16 rounding of y: half an f16 ulp (2^-11 relative) + the f32 bound.
        const bound = 2 ** -11 * Math.max(maxRef, 2 ** -14) + f32Bound(k);
        expect(maxAbsError(await gpu.read(y), want), `${variant} M${m} K${k} N${n}`).toBeLessThanOrEqual(bound);
        for (const t of [a, b, y]) t.dispose();
      }
    }
  });
});

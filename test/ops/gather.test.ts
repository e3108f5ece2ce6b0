/**
 * gatherRows: the kernel for tables within one storage binding, buffer copies for larger ones (CLIP's f32 token
 * table is 152-253 MB, lavapipe binds 128 MiB). The larger case is simulated by lowering the limit the ops read
 * from the device's capabilities (the device itself still binds the real maximum), so the test stays small.
 */
import { describe, expect, it } from "vitest";
import { GpuLimitError } from "../../src/gpu/errors.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { gatherRows, gatherRowsKernel } from "../../src/ops/gather.ts";
import { linear } from "../../src/ops/linear.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

const [ROWS, WIDTH] = [37, 14];
const INDICES = [0, 36, 5, 5, 17, 1, 36];

function expectRows(y: Float32Array, table: Float32Array): void {
  INDICES.forEach((r, n) => expect(Array.from(y.subarray(n * WIDTH, (n + 1) * WIDTH)), `row ${n} ← table row ${r}`).toEqual(Array.from(table.subarray(r * WIDTH, (r + 1) * WIDTH))));
}

/** Runs `f` with the binding limit the ops see lowered to `bytes`. */
async function withBindingLimit<T>(gpu: Gpu, bytes: number, f: () => Promise<T>): Promise<T> {
  const limits = gpu.ctx.caps.limits;
  const real = limits.maxStorageBufferBindingSize;
  limits.maxStorageBufferBindingSize = bytes;
  try {
    return await f();
  } finally {
    limits.maxStorageBufferBindingSize = real;
  }
}

describe("gatherRows", () => {
  it("picks rows exactly (repeats, first and last row), f32 and f16", async () => {
    const gpu = await testGpu();
    const tv = seededFloats(ROWS * WIDTH, 3);
    const table = gpu.upload(tv, [ROWS, WIDTH]);
    const y = await gatherRows(gpu, table, INDICES);
    expect(y.shape).toEqual([INDICES.length, WIDTH]);
    expectRows(await gpu.read(y), tv);
    await expect(gatherRows(gpu, table, [3, 37])).rejects.toThrow(/index 37 at position 1 is outside the table's 37 rows/);
    for (const t of [table, y]) t.dispose();
  });

  it("a table over the binding limit: read by copies, and a kernel that would bind it fails naming the limit", async () => {
    const gpu = await testGpu();
    const tv = seededFloats(ROWS * WIDTH, 4);
    await withBindingLimit(gpu, 1024, async () => {
      // 37 × 14 × 4 = 2072 bytes > 1024: only an `unbound` tensor (how model weights are uploaded) may hold it.
      expect(() => gpu.upload(tv, [ROWS, WIDTH])).toThrow(GpuLimitError);
      const table = gpu.upload(tv, [ROWS, WIDTH], "f32", "table", { unbound: true });
      const y = await gatherRows(gpu, table, INDICES);
      expectRows(await gpu.read(y), tv);
      const x = gpu.upload(seededFloats(WIDTH, 5), [1, WIDTH]);
      await expect(linear(gpu, x, table)).rejects.toThrow(/b Tensor\[37×14\] f32: 2072 bytes exceeds the adapter's maxStorageBufferBindingSize of 1024/);
      // The dispatch itself refuses to bind it (ops without their own check).
      const index = gpu.upload(Int32Array.from(INDICES), [INDICES.length], "i32");
      const out = gpu.empty([INDICES.length, WIDTH], "f32");
      const kernel = await gpu.kernel(gatherRowsKernel, { dtype: "f32" });
      expect(() => gpu.dispatch(kernel, { table, index, y: out }, { rows: INDICES.length, width: WIDTH, table_rows: ROWS }, [1, 1, 1])).toThrow(
        /kernel gather_rows_f32: binding "table" Tensor\[37×14\] f32: 2072 bytes exceeds/,
      );
      for (const t of [x, index, out]) t.dispose();
      if (gpu.ctx.caps.f16) {
        const t16 = gpu.upload(tv, [ROWS, WIDTH], "f16", "table16", { unbound: true });
        const y16 = await gatherRows(gpu, t16, INDICES);
        const back = await gpu.read(y16);
        const ref = await gpu.read(t16);
        INDICES.forEach((r, n) => expect(Array.from(back.subarray(n * WIDTH, (n + 1) * WIDTH))).toEqual(Array.from(ref.subarray(r * WIDTH, (r + 1) * WIDTH))));
        for (const t of [t16, y16]) t.dispose();
      }
      for (const t of [table, y]) t.dispose();
    });
  });
});

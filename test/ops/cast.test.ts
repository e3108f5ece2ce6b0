import { beforeAll, describe, expect, it } from "vitest";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { asDType, cast } from "../../src/ops/cast.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

describe("cast (f32 ↔ f16), outputs poisoned with NaN", () => {
  it("refuses without shader-f16, naming the feature", async () => {
    if (gpu.ctx.caps.f16) return; // lavapipe has it; the SwiftShader run covers this branch
    const x = gpu.upload(new Float32Array(3), [3], "f32");
    await expect(cast(gpu, x, "f16")).rejects.toThrow(/shader-f16/);
    x.dispose();
  });

  it("f32 → f16 rounds to nearest even like the host encoder; f16 → f32 is exact (awkward sizes)", async () => {
    expect(gpu.ctx.caps.f16).toBe(true); // Dawn on lavapipe has shader-f16
    for (const n of [1, 255, 257, 4099]) {
      // Wide range (to ±3000) plus values halfway between f16 neighbours, where rounding must go to even.
      const host = seededFloats(n, n, -3000, 3000);
      for (let i = 0; i < n; i += 7) host[i] = f16BitsToF32(0x3c00 + i) + 2 ** -11; // 1 + i·2^-10 + half an ulp
      const x = gpu.upload(host, [n], "f32");
      const h = await cast(gpu, x, "f16");
      expect(h.dtype).toBe("f16");
      expect(h.shape).toEqual([n]);
      // read() widens f16 exactly, so its values map back to the stored bits.
      const hBits = Uint16Array.from(await gpu.read(h), (v) => f32ToF16Bits(v));
      const want = Uint16Array.from(host, (v) => f32ToF16Bits(v));
      expect([...hBits]).toEqual([...want]);
      const back = await cast(gpu, h, "f32");
      expect(back.dtype).toBe("f32");
      expect([...(await gpu.read(back))]).toEqual(Array.from(want, f16BitsToF32));
      for (const t of [x, h, back]) t.dispose();
    }
  });

  it("asDType passes a tensor of the right type through without a copy", async () => {
    const x = gpu.upload(new Float32Array([1, 2, 3]), [3], "f32");
    const same = await asDType(gpu, x, "f32");
    expect(same.t).toBe(x);
    expect(same.owned).toBe(false);
    const other = await asDType(gpu, x, "f16");
    expect(other.owned).toBe(true);
    expect([...(await gpu.read(other.t))]).toEqual([1, 2, 3]);
    other.t.dispose();
    x.dispose();
  });
});

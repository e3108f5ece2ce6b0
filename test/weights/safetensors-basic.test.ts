import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSafetensors } from "../../src/weights/safetensors/index.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";

describe("safetensors round trip", () => {
  it("writes and reads back F32/F16/I8 tensors with metadata", () => {
    const dir = mkdtempSync(join(tmpdir(), "st-"));
    const a = new Float32Array([1, -2.5, 3e-8, Infinity, -0]);
    const h = new Uint16Array([0x3c00, 0xc000, 0x0001]); // 1, -2, smallest subnormal
    const q = new Int8Array([-128, 0, 127]);
    const bytes = encodeSafetensors(
      { a: { dtype: "F32", shape: [5], data: a }, h: { dtype: "F16", shape: [1, 3], data: h }, q: { dtype: "I8", shape: [3], data: q } },
      { scheme: "test" },
    );
    writeFileSync(join(dir, "x.safetensors"), bytes);
    const f = readSafetensorsFileSync(join(dir, "x.safetensors"));
    expect(f.metadata).toEqual({ scheme: "test" });
    expect(Array.from(f.f32("a"))).toEqual(Array.from(a));
    expect(Array.from(f.f32("h"))).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(f.typed("q") as Int8Array)).toEqual([-128, 0, 127]);
    expect(f.shape("h")).toEqual([1, 3]);
  });
});

import { describe, expect, it } from "vitest";
import { preprocessShader } from "../../src/gpu/shader-preprocess.ts";
import { packUniforms, parseUniformType } from "../../src/gpu/uniforms.ts";
import { reflectKernel } from "../../src/gpu/kernel-registry.ts";

const files: Record<string, string> = {
  "main.wgsl": ['#include "inc/a.wgsl"', "#if F16", "enable f16;", "#else", "// f32 path", "#endif", "alias elem = ELEM;", '#include "inc/a.wgsl"', "fn f() -> elem { return elem(WG); }"].join("\n"),
  "inc/a.wgsl": ["// from a", "const A_CONST = 1u;"].join("\n"),
  "cycle.wgsl": '#include "cycle.wgsl"',
  "bad.wgsl": "#if X\nfn f() {}",
};
const read = (f: string) => {
  const t = files[f];
  if (t === undefined) throw new Error(`missing ${f}`);
  return t;
};

describe("shader preprocessor", () => {
  it("expands includes once, picks #if branches and substitutes defines by whole word", () => {
    const out = preprocessShader("main.wgsl", read, { ELEM: "f32", F16: false, WG: "64u" });
    expect(out.code).toBe(["// from a", "const A_CONST = 1u;", "// f32 path", "alias elem = f32;", "fn f() -> elem { return elem(64u); }"].join("\n"));
    // Line map points each output line at its source file and line (for compile errors).
    expect(out.lineMap[1]).toEqual({ file: "inc/a.wgsl", line: 2 });
    expect(out.lineMap[4]).toEqual({ file: "main.wgsl", line: 9 });
    const f16 = preprocessShader("main.wgsl", read, { ELEM: "f16", F16: true, WG: "64u" });
    expect(f16.code).toContain("enable f16;");
    expect(f16.code).not.toContain("f32 path");
  });
  it("rejects include cycles and unterminated #if with the file named", () => {
    expect(() => preprocessShader("cycle.wgsl", read, {})).toThrow(/cycle/);
    expect(() => preprocessShader("bad.wgsl", read, {})).toThrow(/bad\.wgsl.*#if without #endif/);
  });
});

describe("uniform layout and packing", () => {
  const code = `
struct Params { count: u32, alpha: f32, shape: vec4<u32>, off: vec2i, beta: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main() { y[0] = x[0] * params.alpha; }`;

  it("derives offsets from WGSL alignment rules (vec4 aligns to 16, vec2 to 8)", () => {
    const r = reflectKernel(code, "test");
    expect(r.slots.map((s) => [s.name, s.binding, s.kind])).toEqual([
      ["params", 0, "uniform"],
      ["x", 1, "read-only-storage"],
      ["y", 2, "storage"],
    ]);
    const fields = r.uniforms!.layout.fields.map((f) => [f.name, f.offset, f.scalar, f.components]);
    expect(fields).toEqual([
      ["count", 0, "u32", 1],
      ["alpha", 4, "f32", 1],
      ["shape", 16, "u32", 4],
      ["off", 32, "i32", 2],
      ["beta", 40, "f32", 1],
    ]);
    expect(r.uniforms!.layout.size).toBe(48);
    expect(r.workgroupSize).toEqual([64, 1, 1]);
  });

  it("packs values at those offsets and refuses missing, extra or ill-typed fields", () => {
    const { layout } = reflectKernel(code, "test").uniforms!;
    const buf = packUniforms(layout, { count: 7, alpha: 0.5, shape: [1, 2, 3, 4], off: [-1, 5], beta: -2 }, "t");
    const dv = new DataView(buf);
    expect(dv.getUint32(0, true)).toBe(7);
    expect(dv.getFloat32(4, true)).toBe(0.5);
    expect([16, 20, 24, 28].map((o) => dv.getUint32(o, true))).toEqual([1, 2, 3, 4]);
    expect(dv.getInt32(32, true)).toBe(-1);
    expect(dv.getFloat32(40, true)).toBe(-2);
    expect(() => packUniforms(layout, { count: 7, alpha: 0.5, shape: [1, 2, 3, 4], off: [0, 0] }, "t")).toThrow(/"beta" was not given/);
    expect(() => packUniforms(layout, { count: 7, alpha: 0.5, shape: [1, 2, 3, 4], off: [0, 0], beta: 0, gamma: 1 }, "t")).toThrow(/"gamma" is not a member/);
    expect(() => packUniforms(layout, { count: 1.5, alpha: 0, shape: [1, 2, 3, 4], off: [0, 0], beta: 0 }, "t")).toThrow(/non-integer/);
    expect(() => packUniforms(layout, { count: 1, alpha: 0, shape: [1, 2, 3], off: [0, 0], beta: 0 }, "t")).toThrow(/4 components, got 3/);
    expect(() => parseUniformType("mat4x4", "f32")).toThrow(/not supported/);
  });
});

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fullGoldenDir, goldenFolders } from "../helpers/golden.ts";
import { loadQuantCases } from "./golden-cases.ts";
import { QUANT_FORMATS, formatForFixtureScheme } from "../../src/quant/formats.ts";
import { dequantizeBlocks, quantizeActivations, quantizeWeight, roundHalfEven } from "../../src/quant/quantize.ts";
import { dequantizePacked, packWeight, unpackWeight } from "../../src/quant/packing.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { bitExact, relativeMaxError } from "../../src/verify/compare.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";

/** README tolerance for Y: ≤ 1e-5 relative to max|Y| (torch's float32 summation order is not reproduced). */
const Y_TOL = 1e-5;

describe("roundHalfEven", () => {
  it("rounds ties to even and everything else to nearest, like torch.round", () => {
    const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, 0], [-1.5, -2], [-2.5, -2], [2.4999998, 2], [2.5000002, 3], [-7.5, -8], [127.5, 128]];
    // `+ 0` folds −0 into 0: codes are integers, the sign of zero never reaches them.
    for (const [v, want] of cases) expect(roundHalfEven(v) + 0, `round(${v})`).toBe(want);
  });
});

describe("quantizeBlocks input checks", () => {
  it("names the row and group holding a non-finite value", () => {
    const x = new Float32Array(64).fill(0.5);
    x[40] = NaN;
    expect(() => quantizeWeight(x, 1, 64, QUANT_FORMATS.W4A8)).toThrow(/row 0, group 1 \(columns 32..63\) holds NaN/);
    x[40] = -Infinity;
    expect(() => quantizeActivations(x, 2, 32, QUANT_FORMATS.W8A8)).toThrow(/row 1, group 0/);
  });
});

for (const { label, dir } of goldenFolders("quant")) {
  describe(`quant reference vs torchao (${label})`, () => {
    const cases = loadQuantCases(dir);
    it("has cases for every format", () => {
      const schemes = new Set(cases.map((c) => formatForFixtureScheme(c.scheme).scheme));
      expect([...schemes].sort()).toEqual(["W4A16", "W4A8", "W8A16", "W8A8"]);
    });
    for (const c of cases) {
      it(c.name, () => {
        const f = formatForFixtureScheme(c.scheme);
        const gs = f.defaultGroupSize === "per-channel" ? "per-channel" : c.groupSize;
        const q = quantizeWeight(c.file.f32("W"), c.n, c.k, f, gs);
        // These fixtures have no .5 ties, so the codes and scales must match bit for bit.
        expect(bitExact(q.codes, c.file.typed("W_q") as Int8Array), "W_q").toBe(true);
        expect(bitExact(q.scales, c.file.f32("W_scale")), "W_scale").toBe(true);
        if (c.file.entries.has("W_zero_point")) expect(bitExact(q.zeroPoints, c.file.f32("W_zero_point")), "W_zero_point").toBe(true);
        expect(bitExact(dequantizeBlocks(q, f.weight), c.file.f32("W_deq")), "W_deq").toBe(true);

        const packed = packWeight(f, q);
        const back = unpackWeight(packed);
        expect(bitExact(back.codes, q.codes), "pack → unpack codes").toBe(true);
        expect(bitExact(dequantizePacked(packed), c.file.f32("W_deq")), "packed W_deq").toBe(true);

        const x = c.file.f32("X");
        if (f.activation) {
          const a = quantizeActivations(x, c.m, c.k, f);
          expect(bitExact(a.codes, c.file.typed("X_q") as Int8Array), "X_q").toBe(true);
          expect(bitExact(a.scales, c.file.f32("X_scale")), "X_scale").toBe(true);
          if (c.file.entries.has("X_zero_point")) expect(bitExact(a.zeroPoints, c.file.f32("X_zero_point")), "X_zero_point").toBe(true);
          expect(bitExact(dequantizeBlocks(a, f.activation), c.file.f32("X_deq")), "X_deq").toBe(true);
        } else {
          expect(() => quantizeActivations(x, c.m, c.k, f)).toThrow(/weight-only/);
        }

        const y = quantizedLinearReference(x, packed, c.file.f32("bias"));
        const yName = c.file.entries.has("Y_int_path_f32") ? "Y_int_path_f32" : "Y_f64";
        expect(relativeMaxError(y, c.file.f32(yName)), yName).toBeLessThanOrEqual(Y_TOL);
        if (f.linear === "int8-int8-acc") {
          // Integer accumulation then the same two float32 roundings as torchao: exact.
          expect(bitExact(y, c.file.f32("Y_int_path_f32")), "W8A8 int path bit-exact").toBe(true);
        }
      });
    }
  });
}

// activations-w*a8 README: `lin.*` y from the stored x ≤ 1e-5 max-rel; the same bound as Y_TOL above.
// Real per-linear activations of quantized tiny UNets (full oracle only; registered where present, never skipped).
const golden = fullGoldenDir();
const models = golden ? ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"] : [];
for (const model of models) {
  for (const scheme of ["W8A8", "W4A8"] as const) {
    describe(`${model} UNet linears, ${scheme} (activations-${scheme.toLowerCase()} lin.*)`, () => {
      const dir = join(golden!, model, `activations-${scheme.toLowerCase()}`);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { linear_details: string[] };
      const acts = readSafetensorsFileSync(join(dir, "unet.safetensors"));
      const unet = readSafetensorsFileSync(join(golden!, model, "unet/diffusion_pytorch_model.safetensors"));
      const f = QUANT_FORMATS[scheme];
      for (const m of manifest.linear_details) {
        it(m, () => {
          const [n, k] = unet.shape(`${m}.weight`) as [number, number];
          const x = acts.f32(`lin.${m}.x`);
          const tokens = x.length / k;
          const qx = quantizeActivations(x, tokens, k, f);
          expect(bitExact(qx.codes, acts.typed(`lin.${m}.x_q`) as Int8Array), "x_q").toBe(true);
          expect(bitExact(qx.scales, acts.f32(`lin.${m}.x_scale`)), "x_scale").toBe(true);
          if (acts.entries.has(`lin.${m}.x_zero_point`)) expect(bitExact(qx.zeroPoints, acts.f32(`lin.${m}.x_zero_point`)), "x_zero_point").toBe(true);
          const w = packWeight(f, quantizeWeight(unet.f32(`${m}.weight`), n, k, f));
          const bias = unet.entries.has(`${m}.bias`) ? unet.f32(`${m}.bias`) : null;
          const y = quantizedLinearReference(x, w, bias);
          expect(relativeMaxError(y, acts.f32(`lin.${m}.y`))).toBeLessThanOrEqual(Y_TOL);
        });
      }
    });
  }
}

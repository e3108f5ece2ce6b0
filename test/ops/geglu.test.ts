import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { geglu } from "../../src/ops/geglu.ts";
import { relativeMaxError } from "../../src/verify/compare.ts";
import { OPS_CASE_RUNNERS } from "../../src/verify/ops-cases/index.ts";
import type { OpsCase } from "../../src/verify/ops-cases/types.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

function casesOf(dir: string, op: string): OpsCase[] {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: OpsCase[] };
  return m.cases.filter((c) => c.op === op);
}

/** float64 erf (Abramowitz–Stegun 7.1.26 is too coarse; this series/continued fraction is ~1e-15). */
function erf64(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    // Maclaurin series: converges fast for |x| < 3.
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz), accurate for |x| ≥ 3.
    let f = z;
    for (let n = 60; n >= 1; n--) f = z + n / 2 / f;
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

function gegluRef(h: Float32Array, dout: number): Float64Array {
  const rows = h.length / (2 * dout);
  const y = new Float64Array(rows * dout);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dout; j++) {
      const hidden = h[r * 2 * dout + j]!;
      const gate = h[r * 2 * dout + dout + j]!;
      y[r * dout + j] = hidden * 0.5 * gate * (1 + erf64(gate / Math.SQRT2));
    }
  }
  return y;
}

/** Elementwise bound (README): 1e-6 vs float64. */
const GEGLU_TOL = 1e-6;
/** f16 storage: the f16 output rounding (2^-12 of |y|) dominates; measured 2.5e-4 (relative to max|y|) on lavapipe, bound 1e-3. */
const GEGLU_F16_TOL = 1e-3;

describe("geglu golden cases", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    for (const c of casesOf(dir, "geglu")) {
      it(`${label}: ${c.file}`, async () => {
        const st = parseSafetensorsBytes(new Uint8Array(readFileSync(join(dir, c.file))), c.file);
        const r = await OPS_CASE_RUNNERS.geglu!(await testGpu(), st, c, undefined);
        expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      });
    }
  }
});

describe("geglu vs float64", () => {
  for (const shape of [[3, 7, 2 * 13], [1, 2], [2, 1, 2 * 640], [5, 2 * 257]]) {
    it(`[${shape}]`, async () => {
      const gpu = await testGpu();
      const n = shape.reduce((a, b) => a * b, 1);
      const hs = seededFloats(n, 7 + n, -6, 6);
      const h = gpu.upload(hs, shape);
      const y = await geglu(gpu, h);
      const dout = shape[shape.length - 1]! / 2;
      expect(y.shape).toEqual([...shape.slice(0, -1), dout]);
      expect(relativeMaxError(await gpu.read(y), gegluRef(hs, dout))).toBeLessThanOrEqual(GEGLU_TOL);
      h.dispose();
      y.dispose();
    });
  }

  it("f16 storage when the adapter has shader-f16", async () => {
    const gpu = await testGpu();
    if (!gpu.ctx.caps.f16) {
      const h = gpu.upload(new Float32Array(4), [1, 4], "f16");
      await expect(geglu(gpu, h)).rejects.toThrow(/f16/);
      return;
    }
    const h = gpu.upload(seededFloats(4 * 2 * 99, 3, -4, 4), [4, 2 * 99], "f16");
    const y = await geglu(gpu, h);
    expect(y.dtype).toBe("f16");
    expect(relativeMaxError(await gpu.read(y), gegluRef(await gpu.read(h), 99))).toBeLessThanOrEqual(GEGLU_F16_TOL);
    h.dispose();
    y.dispose();
  });

  it("rejects an odd last dim", async () => {
    const gpu = await testGpu();
    const h = gpu.upload(new Float32Array(6), [2, 3]);
    await expect(geglu(gpu, h)).rejects.toThrow("geglu: last dim of h must be even (2·dout), got shape [2, 3]");
    h.dispose();
  });
});

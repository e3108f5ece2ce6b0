import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { goldenFolders, REPO_ROOT } from "../helpers/golden.ts";
import { computeNoiseTables, randnTensor, torchLinspaceF32, TorchGenerator } from "../../src/scheduler/index.ts";
import { fmaF32 } from "../../src/scheduler/float32.ts";
import { logCR, sinCosCR } from "../../src/scheduler/rng/correctly-rounded.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";

describe("noise tables", () => {
  for (const { label, dir } of goldenFolders("schedulers")) {
    const tables = join(dir, "configs/tables.safetensors");
    it(`${label}: scaled_linear betas and alphas_cumprod equal torch's float32 tables bit for bit`, () => {
      expect(existsSync(tables)).toBe(true);
      const t = readSafetensorsFileSync(tables);
      const ours = computeNoiseTables({ num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", trained_betas: null });
      expect(Array.from(ours.betas)).toEqual(Array.from(t.f32("betas")));
      expect(Array.from(ours.alphasCumprod)).toEqual(Array.from(t.f32("alphas_cumprod")));
    });
  }

  it("torch linspace: n = 1 gives start, ends are exact, the step is float32", () => {
    expect(Array.from(torchLinspaceF32(0.955, 1, 1))).toEqual([Math.fround(0.955)]);
    const v = torchLinspaceF32(0.1, 0.7, 37);
    expect(v[0]).toBe(Math.fround(0.1));
    expect(v[36]).toBe(Math.fround(0.7));
  });

  it("fmaF32 rounds once (a float64 sum that lands on a float32 tie is resolved by the lost low part)", () => {
    // a·b = 2^-24 − 2^-60 exactly; + (1 + 2^-23) is just below the tie 1 + 2^-23 + 2^-24, so it rounds down.
    const a = 2 ** -12 * (1 + 2 ** -18);
    const b = 2 ** -12 * (1 - 2 ** -18);
    const c = 1 + 2 ** -23;
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22); // float64 then float32: double rounding goes the wrong way
    expect(fmaF32(a, b, c)).toBe(1 + 2 ** -23);
    expect(fmaF32(-a, b, -c)).toBe(-(1 + 2 ** -23));
  });
});

describe("TorchGenerator", () => {
  it("uses the low 32 bits of 64-bit seeds (bigint or safe number) and rejects out-of-range seeds", () => {
    const a = new TorchGenerator(5).randn([20]);
    expect(Array.from(new TorchGenerator(2n ** 32n + 5n).randn([20]))).toEqual(Array.from(a));
    expect(Array.from(new TorchGenerator(2 ** 32 + 5).randn([20]))).toEqual(Array.from(a));
    expect(() => new TorchGenerator(2 ** 60)).toThrow(/not a safe integer/);
    expect(() => new TorchGenerator(2n ** 64n)).toThrow(/\[-2\^63, 2\^64-1\]/);
    expect(() => new TorchGenerator(2n ** 64n - 1n)).not.toThrow();
  });

  it("manualSeed restarts the sequence and drops the cached scalar-path normal", () => {
    const g = new TorchGenerator(9);
    const first = Array.from(g.randn([3]));
    g.randn([5]);
    expect(Array.from(g.manualSeed(9).randn([3]))).toEqual(first);
  });

  it("randn_tensor with a list of generators draws one batch item per generator", () => {
    const shape = [2, 3, 4, 5];
    const listed = randnTensor(shape, [new TorchGenerator(1), new TorchGenerator(2)]);
    const item1 = new TorchGenerator(2).randn([1, 3, 4, 5]);
    expect(Array.from(listed.subarray(60))).toEqual(Array.from(item1));
    expect(() => randnTensor(shape, [new TorchGenerator(1)].concat(new TorchGenerator(2), new TorchGenerator(3)))).toThrow(/3 generators for batch size 2/);
  });

  it("correctly rounded log/sin/cos agree with V8's to within 1 ulp", () => {
    const g = new TorchGenerator(3);
    for (let i = 0; i < 2000; i++) {
      const u = (g.nextU32() + 1) / 2 ** 32;
      const th = 2 * Math.PI * u;
      const tol = (x: number) => Math.abs(x) * 2 ** -52 + 2 ** -1074;
      expect(Math.abs(logCR(u) - Math.log(u))).toBeLessThanOrEqual(tol(Math.log(u)));
      const { sin, cos } = sinCosCR(th);
      expect(Math.abs(sin - Math.sin(th))).toBeLessThanOrEqual(tol(Math.sin(th)) + 2 ** -60);
      expect(Math.abs(cos - Math.cos(th))).toBeLessThanOrEqual(tol(Math.cos(th)) + 2 ** -60);
    }
  });
});

describe("module boundary", () => {
  it("src/scheduler imports nothing outside src/scheduler (no GPU code)", () => {
    const root = join(REPO_ROOT, "src/scheduler");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith(".ts")) files.push(join(d, e.name));
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const src = readFileSync(f, "utf8");
      for (const m of src.matchAll(/from\s+"([^"]+)"/g)) {
        const spec = m[1]!;
        expect(spec.startsWith("./") || spec.startsWith("../"), `${f} imports ${spec}`).toBe(true);
        const resolved = join(f, "..", spec);
        expect(resolved.startsWith(root), `${f} imports ${spec} outside src/scheduler`).toBe(true);
      }
    }
  });
});

/** TAESD / TAESDXL decoder vs the tiny-taesd fixtures (shipped subset, full oracle when present), via the "taesd" verifier kind. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TaesdDecoder } from "../../src/models/taesd/taesd.ts";
import { relu } from "../../src/ops/activation.ts";
import { runTaesdCases, TAESD_TOL } from "../../src/verify/kinds/taesd.ts";
import { componentSource, readJson } from "../../src/verify/pipeline/component-source.ts";
import { getVerifyKind } from "../../src/verify/registry.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import "../../src/verify/kinds/index.ts";
import { goldenFolders } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("taesd fixtures (README bound 1e-5 relative)", () => {
  for (const { label, dir } of goldenFolders("tiny-taesd")) {
    it(label, async () => {
      const gpu = await testGpu();
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      const results = await runTaesdCases(gpu, dir, manifest);
      console.log(`${label}: ${results.map((r) => `${r.name} ${r.error?.toExponential(2)}`).join(", ")}`);
      expect(results.length).toBe(manifest.cases.length * 2);
      for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
    });
  }

  it("runs manifest-driven through qsched-gpu verify", async () => {
    const report = await verifyFolder(goldenFolders("tiny-taesd")[0]!.dir);
    expect(report.kind).toBe("taesd");
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(0);
  });

  it("is registered as verifier kind \"taesd\"", async () => {
    const kind = await getVerifyKind("taesd");
    expect(kind.defaultTol).toBe(TAESD_TOL);
    expect(kind.needsGpu).toBe(true);
  });
});

describe("taesd pieces", () => {
  it("relu is exactly max(x, 0), tiny values included", async () => {
    const gpu = await testGpu();
    const x = Float32Array.from([-3, -1e-3, -1e-12, 0, 1e-12, 2.5e-7, 1, 1e4, -1e4]);
    const y = await gpu.read(await relu(gpu, gpu.upload(x, [x.length])));
    expect([...y]).toEqual([...x].map((v) => (v > 0 ? v : 0)));
  });

  it("skipping the tanh(x/3)·3 clamp would be caught: large latents change the image", async () => {
    // The fixture latents are randn (|z| ≲ 4), where the clamp already bends values by up to 20 %; this pins
    // that the decoder's input really is clamped: 100·z and 1000·z both saturate to ±3 and decode alike.
    const gpu = await testGpu();
    const dir = join(goldenFolders("tiny-taesd")[0]!.dir, "taesd");
    const dec = TaesdDecoder.load(gpu, componentSource(dir), readJson(join(dir, "config.json")));
    const base = Float32Array.from({ length: 4 * 16 }, (_, i) => (i % 2 ? 1 : -1) * (1 + (i % 5)));
    gpu.flush();
    const a = gpu.upload(base.map((v) => v * 100), [1, 4, 4, 4]);
    const b = gpu.upload(base.map((v) => v * 1000), [1, 4, 4, 4]);
    const ya = await gpu.read(await dec.decode(a));
    const yb = await gpu.read(await dec.decode(b));
    expect(Math.max(...ya.map((v, i) => Math.abs(v - yb[i]!)))).toBe(0);
    // …while unclamped the two inputs would differ by 10×: the images are not constant in the latents.
    const c = gpu.upload(base.map((v) => v * 0.5), [1, 4, 4, 4]);
    const yc = await gpu.read(await dec.decode(c));
    expect(Math.max(...ya.map((v, i) => Math.abs(v - yc[i]!)))).toBeGreaterThan(1e-3);
    await expect(dec.decode(gpu.upload(new Float32Array(3 * 4), [1, 3, 2, 2]))).rejects.toThrow("TAESD decode: latents must be [B, 4, h, w], got [1, 3, 2, 2]");
  });
});

describe("TAESD configs", () => {
  it("refuses a scaling_factor or shift_factor the pipeline would apply and we do not", async () => {
    const { parseTaesdConfig } = await import("../../src/models/taesd/taesd.ts");
    const base = { block_out_channels: [8, 8, 8, 8], num_decoder_blocks: [3, 3, 3, 1] };
    expect(() => parseTaesdConfig({ ...base, scaling_factor: 1.0, shift_factor: 0.0 })).not.toThrow();
    expect(() => parseTaesdConfig({ ...base, scaling_factor: 1.5305 })).toThrow(/scaling_factor 1.5305 .* not supported/);
    expect(() => parseTaesdConfig({ ...base, shift_factor: 0.0609 })).toThrow(/shift_factor 0.0609 are not supported/);
  });
});

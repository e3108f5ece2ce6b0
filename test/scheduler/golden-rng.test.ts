import { describe, expect, it } from "vitest";
import { goldenFolders } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import { derivedFolder, readManifest, tamperTensor } from "./folder-tools.ts";

describe("golden rng", () => {
  for (const { label, dir } of goldenFolders("rng")) {
    it(`${label}: every case reproduces torch's generator (F32, F16, engine words exact)`, async () => {
      const report = await verifyFolder(dir);
      const failures = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
      expect(failures).toEqual([]);
      expect(report.results.length).toBe(readManifest(dir).cases.length);
    });
  }

  const [source] = goldenFolders("rng").slice(-1);
  it("is driven by the manifest: reordered cases under other file names", async () => {
    const cases = readManifest(source!.dir).cases;
    const pick = [...cases].reverse().slice(0, 3);
    const report = await verifyFolder(derivedFolder(source!.dir, pick));
    expect(report.results.map((r) => r.name)).toEqual(pick.map((_, k) => `renamed/case_${k}`));
    expect(report.failed).toBe(0);
  });

  it("fails when one bit of a float32 reference changes, whatever the tolerance", async () => {
    const c = readManifest(source!.dir).cases.find((x) => x.seed !== undefined)!;
    const dir = derivedFolder(source!.dir, [c]);
    tamperTensor(dir, readManifest(dir).cases[0]!, "f32_1x4x64x64", (v) => {
      const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
      bits[100] = bits[100]! ^ 1;
    });
    const report = await verifyFolder(dir, { tol: 1 });
    expect(report.failed).toBe(1);
    expect(report.results[0]!.detail).toContain("f32_1x4x64x64");
  });

  it("fails when the manifest seed is wrong", async () => {
    const c = readManifest(source!.dir).cases.find((x) => x.seed !== undefined)!;
    const report = await verifyFolder(derivedFolder(source!.dir, [{ ...c, seed: Number(c.seed) + 1 }]));
    expect(report.failed).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goldenFolders, FIXTURE_GOLDEN } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { encodeSafetensors, type TensorToWrite } from "../../src/weights/safetensors/index.ts";
import { QUANT_FORMATS } from "../../src/quant/formats.ts";
import { quantizeActivations, quantizeWeight } from "../../src/quant/quantize.ts";
import { packWeight } from "../../src/quant/packing.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";

interface Case { file: string; scheme: string }
const shipped = join(FIXTURE_GOLDEN, "quant");
const shippedManifest = JSON.parse(readFileSync(join(shipped, "manifest.json"), "utf8")) as { kind: string; cases: Case[] };

/** A folder holding the given cases under new names (case_<i>.safetensors), in the given order. */
function folderWith(cases: Case[], mutate?: (i: number, tensors: Record<string, TensorToWrite>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "quant-verify-"));
  const renamed = cases.map((c, i) => {
    const file = `case_${i}.safetensors`;
    if (!mutate) copyFileSync(join(shipped, c.file), join(dir, file));
    else {
      const src = readSafetensorsFileSync(join(shipped, c.file));
      const tensors: Record<string, TensorToWrite> = {};
      for (const [name, e] of src.entries) tensors[name] = { dtype: e.dtype, shape: e.shape, data: src.bytes(name).slice() };
      mutate(i, tensors);
      writeFileSync(join(dir, file), encodeSafetensors(tensors, src.metadata));
    }
    return { ...c, file };
  });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...shippedManifest, cases: renamed }));
  return dir;
}

describe("verify kind quant", () => {
  for (const { label, dir } of goldenFolders("quant")) {
    it(`passes every case of ${label}`, async () => {
      const report = await verifyFolder(dir);
      const failures = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
      expect(failures).toEqual([]);
      expect(report.passed).toBeGreaterThanOrEqual(9);
    });
  }

  it("is driven by the manifest: reversed order and renamed files still pass", async () => {
    const report = await verifyFolder(folderWith([...shippedManifest.cases].reverse()));
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(shippedManifest.cases.length);
  });

  it("fails a case whose stored weight code was changed by 2", async () => {
    const report = await verifyFolder(
      folderWith(shippedManifest.cases.slice(0, 2), (i, t) => {
        if (i !== 1) return;
        const q = t.W_q!.data as Uint8Array;
        q[3] = (q[3]! + 2) & 0xff;
      }),
    );
    expect(report.results.map((r) => r.ok)).toEqual([true, false]);
    expect(report.results[1]!.detail).toMatch(/W_q\[3\]/);
  });

  it("checks every stored output: Y_f64 beside Y_int_path_f32, and the dequantized W_deq / X_deq", async () => {
    const w8a8 = shippedManifest.cases.filter((c) => c.scheme.startsWith("w8a8_")).slice(0, 1);
    for (const tensor of ["Y_f64", "Y_int_path_f32", "W_deq", "X_deq"]) {
      const report = await verifyFolder(folderWith(w8a8, (_i, t) => {
        const v = new Float32Array((t[tensor]!.data as Uint8Array).buffer);
        v[1] = v[1]! + 0.5;
      }));
      expect(report.failed, tensor).toBe(1);
      expect(report.results[0]!.detail).toMatch(new RegExp(`${tensor} error`));
    }
  });

  it("fails a scale that is 2 ulp off", async () => {
    const report = await verifyFolder(
      folderWith(shippedManifest.cases.slice(0, 1), (_i, t) => {
        const s = new Uint32Array((t.W_scale!.data as Uint8Array).buffer);
        s[0] = s[0]! + 2;
      }),
    );
    expect(report.failed).toBe(1);
    expect(report.results[0]!.detail).toMatch(/W_scale\[0\].*2 ulp/);
  });

  it("allows a ±1 weight code flip exactly at a .5 tie, and only there", async () => {
    // Row amax 127.5 → scale 1, so W·(1/scale) = 2.5 is an exact tie (torch rounds to 2) and 1.25 is not.
    const f = QUANT_FORMATS.W8A8;
    const w = Float32Array.from([127.5, 2.5, 1.25, -3]);
    const x = Float32Array.from([0.5, -1, 2, 0.25]);
    const qw = quantizeWeight(w, 1, 4, f);
    const qx = quantizeActivations(x, 1, 4, f);
    const y = quantizedLinearReference(x, packWeight(f, qw), null);
    const folderFor = (codes: number[]) => {
      const dir = mkdtempSync(join(tmpdir(), "quant-tie-"));
      writeFileSync(join(dir, "t.safetensors"), encodeSafetensors({
        W: { dtype: "F32", shape: [1, 4], data: w },
        X: { dtype: "F32", shape: [1, 4], data: x },
        W_q: { dtype: "I8", shape: [1, 4], data: Int8Array.from(codes) },
        W_scale: { dtype: "F32", shape: [1, 1], data: qw.scales },
        X_q: { dtype: "I8", shape: [1, 4], data: qx.codes },
        X_scale: { dtype: "F32", shape: [1, 1], data: qx.scales },
        Y_f64: { dtype: "F32", shape: [1, 1], data: y },
      }));
      writeFileSync(join(dir, "manifest.json"), JSON.stringify({ kind: "quant", cases: [{ file: "t.safetensors", scheme: "w8a8_int8dyn_act_int8_weight", group_size: 4, M: 1, N: 1, K: 4 }] }));
      return dir;
    };
    expect(Array.from(qw.codes)).toEqual([127, 2, 1, -3]);
    expect((await verifyFolder(folderFor([127, 2, 1, -3]))).failed).toBe(0);
    expect((await verifyFolder(folderFor([127, 3, 1, -3]))).failed).toBe(0); // tie: the other neighbour is fine
    const notTie = await verifyFolder(folderFor([127, 2, 2, -3]));
    expect(notTie.results[0]!.detail).toMatch(/W_q\[2\] = 1, stored 2 .*not a \.5 tie/);
  });

  it("honours opts.tol: at tol 0 the float64 references fail, W8A8's integer-path output is still exact", async () => {
    const report = await verifyFolder(shipped, { tol: 0 });
    const byScheme = (p: string) => report.results.filter((r) => r.name.startsWith(p));
    expect(byScheme("w8_int8_weight_only").some((r) => !r.ok)).toBe(true);
    const w8a8 = byScheme("w8a8_");
    expect(w8a8.some((r) => /Y_f64 error/.test(r.detail ?? ""))).toBe(true);
    expect(w8a8.every((r) => !/Y_int_path_f32 error/.test(r.detail ?? ""))).toBe(true);
  });
});

/**
 * The verifier runs any folder of the oracle's formats by its manifest: cases in another order, files the Hub layout
 * adds, stored tensors it has no check for, and activation files its manifest does not list. A stored value that is
 * wrong must fail whichever of these it sits in; a tensor nothing checks must not pass as checked.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { verifyFolder } from "../../src/verify/run.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { encodeSafetensors, type TensorToWrite } from "../../src/weights/safetensors/index.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";

const work = mkdtempSync(join(tmpdir(), "verify-altered-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of a safetensors file with some tensors changed (`edit` gets each tensor's f32 view when F32). */
function rewrite(src: string, dest: string, edit: (tensors: Record<string, TensorToWrite>) => void): void {
  const st = readSafetensorsFileSync(src);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, e] of st.entries) tensors[name] = { dtype: e.dtype, shape: e.shape, data: st.bytes(name).slice() };
  edit(tensors);
  writeFileSync(dest, encodeSafetensors(tensors, st.metadata));
}
const f32 = (t: TensorToWrite) => new Float32Array((t.data as Uint8Array).buffer);
const failures = (r: Awaited<ReturnType<typeof verifyFolder>>) => r.results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.detail}`);

describe("ops", () => {
  it("an activations case storing an output with no kernel fails as 'cannot run' instead of passing unchecked", async () => {
    const dir = join(work, "ops");
    cpSync(join(FIXTURE_GOLDEN, "ops/README.md"), join(dir, "README.md"));
    rewrite(join(FIXTURE_GOLDEN, "ops/activations.safetensors"), join(dir, "acts.safetensors"), (t) => {
      t.hardswish = { ...t.x!, data: (t.x!.data as Uint8Array).slice() };
    });
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ kind: "ops", cases: [{ op: "activations", file: "acts.safetensors" }] }));
    const report = await verifyFolder(dir);
    expect(failures(report)).toEqual([expect.stringMatching(/cannot run: activation hardswish/)]);
  });
});

describe("tokenizer", () => {
  it("passes with the cases reordered and the Hub's added_tokens.json listed beside vocab.json", async () => {
    const dir = join(work, "tokenizer");
    cpSync(join(FIXTURE_GOLDEN, "tokenizer"), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { files: Record<string, { bytes: number; sha256: string }> };
    const put = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      manifest.files[name] = { bytes: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") };
    };
    const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { cases: unknown[] };
    put("cases.json", JSON.stringify({ ...cases, cases: [...cases.cases].reverse() }));
    put("added_tokens.json", JSON.stringify({ "<|endoftext|>": 49407, "<|startoftext|>": 49406 }));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    const report = await verifyFolder(dir);
    expect(failures(report)).toEqual([]);
    expect(report.passed).toBeGreaterThan(cases.cases.length);
  });
});

describe("schedulers", () => {
  it("fails a trace whose stored step timestep is not the schedule's at that step", async () => {
    const dir = join(work, "schedulers");
    cpSync(join(FIXTURE_GOLDEN, "schedulers"), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { cases: Array<{ file: string; family: string; steps: number }> };
    const c = manifest.cases.find((x) => x.family.startsWith("euler") && x.steps >= 3)!;
    rewrite(join(dir, c.file), join(dir, c.file), (t) => void (f32(t["step2/timestep"]!)[0]! += 37));
    const report = await verifyFolder(dir);
    expect(failures(report)).toEqual([expect.stringMatching(/step2\/timestep err=/)]);
  });
});

describe("pipeline activations", () => {
  // The tiny pipelines' text encoder and VAE files live only in the full oracle: registered where it exists.
  const golden = fullGoldenDir();
  for (const model of golden ? ["tiny-sd-turbo"] : []) {
    it(`checks the text encoder and VAE files of an activations part even though its manifest lists only the UNet (${model})`, async () => {
      const dir = join(work, model);
      const src = join(golden!, model);
      cpSync(src, dir, { recursive: true, filter: (p) => !/^\/(traces|activations)/.test(p.slice(src.length)) });
      // A part in a folder of another name, holding only the text encoder's and the VAE's files (the UNet's is
      // covered elsewhere and slower): each stored tensor must be compared, and a perturbed one must fail.
      const part = join(dir, "acts-new");
      cpSync(join(golden!, model, "activations"), part, { recursive: true, filter: (p) => !p.endsWith("unet.safetensors") });
      const m = JSON.parse(readFileSync(join(part, "manifest.json"), "utf8")) as Record<string, unknown>;
      delete m["unet.safetensors"];
      writeFileSync(join(part, "manifest.json"), JSON.stringify(m));
      writeFileSync(join(dir, "manifest.json"), JSON.stringify({ kind: "pipeline", parts: { activations: "acts-new/manifest.json" } }));
      const clean = await verifyFolder(dir);
      expect(failures(clean)).toEqual([]);
      expect(clean.results.some((r) => r.name.startsWith("text_encoder"))).toBe(true);
      expect(clean.results.some((r) => r.name.startsWith("vae"))).toBe(true);
      rewrite(join(part, "vae_decoder.safetensors"), join(part, "vae_decoder.safetensors"), (t) => void (f32(t["act.decoder.conv_out"]!)[0]! += 1));
      expect(failures(await verifyFolder(dir))).toEqual([expect.stringMatching(/^vae decoder\.conv_out: max-rel/)]);
    });
  }
});

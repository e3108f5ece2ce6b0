import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FIXTURE_GOLDEN } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";

const shippedScores = join(FIXTURE_GOLDEN, "scores");
const shippedTokenizer = join(FIXTURE_GOLDEN, "tokenizer");
const work = mkdtempSync(join(tmpdir(), "qsched-scores-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The scores file under another name, optionally with bytes changed; a `tokenizer` sibling when asked. */
function buildFolder(root: string, opts: { tokenizerSibling: boolean; patch?: (bytes: Uint8Array) => void }): string {
  const dir = join(work, root, "calibration-run");
  mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(readFileSync(join(shippedScores, "scores.safetensors")));
  opts.patch?.(bytes);
  writeFileSync(join(dir, "calib.safetensors"), bytes);
  const manifest = JSON.parse(readFileSync(join(shippedScores, "manifest.json"), "utf8")) as { files: Record<string, unknown> };
  manifest.files = { "calib.safetensors": manifest.files["scores.safetensors"] };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  if (opts.tokenizerSibling) {
    const tok = join(work, root, "tokenizer");
    mkdirSync(tok, { recursive: true });
    for (const f of ["vocab.json", "merges.txt", "manifest.json"]) copyFileSync(join(shippedTokenizer, f), join(tok, f));
    // The sibling's manifest must list only what is there: the vocab files.
    writeFileSync(join(tok, "manifest.json"), JSON.stringify({ kind: "tokenizer", files: { "vocab.json": {}, "merges.txt": {} } }));
  }
  return dir;
}

/** Overwrites element `index` of an F32 tensor in a safetensors byte image. */
function patchF32(name: string, index: number, value: number): (bytes: Uint8Array) => void {
  const entry = readSafetensorsFileSync(join(shippedScores, "scores.safetensors")).entries.get(name);
  if (!entry) throw new Error(`test setup: no tensor ${name}`);
  return (bytes) => new DataView(bytes.buffer).setFloat32(entry.start + 4 * index, value, true);
}

test("a renamed scores file is found through the manifest and passes", async () => {
  const report = await verifyFolder(buildFolder("ok", { tokenizerSibling: true }));
  expect(report.kind).toBe("scores");
  expect(report.failed).toBe(0);
  expect(report.results.every((r) => r.name.startsWith("calib.safetensors: "))).toBe(true);
});

test("a changed stored JAQ value fails the jaq check, nothing else", async () => {
  const report = await verifyFolder(buildFolder("bad-jaq", { tokenizerSibling: true, patch: patchF32("jaq", 1, 3.5) }));
  expect(report.results.filter((r) => !r.ok).map((r) => r.name)).toEqual(["calib.safetensors: jaq"]);
});

test("swapped embeddings change the ranking and the verifier reports it", async () => {
  // Config 0's first image set to config 2's: scores move, and the stored F32 values no longer match.
  const patch = (bytes: Uint8Array) => {
    const file = readSafetensorsFileSync(join(shippedScores, "scores.safetensors"));
    const e = file.entries.get("image_embeds_normalized")!;
    const row = 4 * file.shape("image_embeds_normalized")[2]!;
    const perConfig = row * file.shape("image_embeds_normalized")[1]!;
    for (let i = 0; i < 4; i++) bytes.copyWithin(e.start + i * row, e.start + 2 * perConfig + i * row, e.start + 2 * perConfig + (i + 1) * row);
  };
  const report = await verifyFolder(buildFolder("bad-embeds", { tokenizerSibling: true, patch }));
  const failed = report.results.filter((r) => !r.ok).map((r) => r.name);
  expect(failed).toContain("calib.safetensors: clip_score_pairs");
  expect(failed).toContain("calib.safetensors: ranking");
});

test("without a vocabulary the id checks fail and say why", async () => {
  const report = await verifyFolder(buildFolder("no-vocab", { tokenizerSibling: false }));
  const failed = report.results.filter((r) => !r.ok);
  expect(failed.map((r) => r.name)).toEqual([
    "calib.safetensors: text_input_ids (torchmetrics text batch)",
    "calib.safetensors: anchor_input_ids (torchmetrics text batch)",
    "calib.safetensors: long_input_ids (torchmetrics text batch)",
  ]);
  expect(failed[0]?.detail).toMatch(/no vocab\.json\/merges\.txt/);
});

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FIXTURE_GOLDEN } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";

const shipped = join(FIXTURE_GOLDEN, "tokenizer");
const work = mkdtempSync(join(tmpdir(), "qsched-tokenizer-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface CasesJson {
  cases: { index: number; input_ids: number[] }[];
  [key: string]: unknown;
}

/** A folder whose files have other names than the oracle's, holding `pick` of the shipped cases. */
function buildFolder(name: string, pick: number[], edit?: (cases: CasesJson) => void): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const all = JSON.parse(readFileSync(join(shipped, "cases.json"), "utf8")) as CasesJson;
  const subset: CasesJson = { ...all, cases: all.cases.filter((c) => pick.includes(c.index)) };
  edit?.(subset);
  writeFileSync(join(dir, "prompt-cases.json"), JSON.stringify(subset));
  copyFileSync(join(shipped, "vocab.json"), join(dir, "bpe-vocab.json"));
  copyFileSync(join(shipped, "merges.txt"), join(dir, "bpe-merges.txt"));
  const manifest = {
    kind: "tokenizer",
    files: { "prompt-cases.json": {}, "bpe-vocab.json": {}, "bpe-merges.txt": {} },
    num_cases: subset.cases.length,
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  return dir;
}

const PICK = [0, 40, 88, 103, 107, 110];

test("a folder with other file names and a subset of cases runs every listed case", async () => {
  const report = await verifyFolder(buildFolder("renamed", PICK));
  expect(report.kind).toBe("tokenizer");
  expect(report.failed).toBe(0);
  expect(report.results.filter((r) => r.name.startsWith("case ")).map((r) => r.name)).toEqual(
    PICK.map((i) => expect.stringContaining(`case ${i} `) as unknown as string),
  );
});

test("a wrong expected id fails exactly that case and names the position", async () => {
  const dir = buildFolder("tampered", PICK, (c) => {
    const target = c.cases.find((x) => x.index === 88);
    if (target) target.input_ids[2] = (target.input_ids[2] as number) + 1;
  });
  const report = await verifyFolder(dir);
  const failed = report.results.filter((r) => !r.ok);
  expect(failed.map((r) => r.name)).toEqual(["case 88 (cjk)"]);
  expect(failed[0]?.detail).toMatch(/input_ids: .*first difference at 2/);
});

test("a manifest that names a missing file is an error that says which", async () => {
  const dir = buildFolder("missing", PICK);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ kind: "tokenizer", files: { "prompt-cases.json": {}, "nope.txt": {} } }));
  await expect(verifyFolder(dir)).rejects.toThrow(/nope\.txt/);
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { goldenFolders } from "../helpers/golden.ts";
import { verifyFolder } from "../../src/verify/run.ts";
import { CLIPTokenizer } from "../../src/tokenizer/index.ts";

interface GoldenCase {
  index: number;
  prompt: string;
  tokens: string[];
  ids_untruncated: number[];
  input_ids: number[];
  attention_mask: number[];
  input_ids_pad_bang: number[];
  attention_mask_pad_bang: number[];
}

// Ids are integers: every comparison here is exact equality (fixture README: "Exact integer equality").
describe.each(goldenFolders("tokenizer"))("tokenizer golden ($label)", ({ dir }) => {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { num_cases: number };

  test("verifier: every case and folder check passes", async () => {
    const report = await verifyFolder(dir);
    const failures = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
    expect(failures).toEqual([]);
    // 4 folder-level checks (file hashes, vocab hashes, special ids, manifest lists) + one result per case.
    expect(report.results.length).toBe(manifest.num_cases + 4);
  });

  test("public API reproduces both pad conventions and the untruncated ids", () => {
    const vocab = readFileSync(join(dir, "vocab.json"), "utf8");
    const merges = readFileSync(join(dir, "merges.txt"), "utf8");
    const sd15 = CLIPTokenizer.fromFiles(vocab, merges);
    const sdxl2 = CLIPTokenizer.fromFiles(vocab, merges, { padToken: "!" });
    const cases = (JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { cases: GoldenCase[] }).cases;
    expect(cases.length).toBe(manifest.num_cases);
    for (const c of cases) {
      const label = `case ${c.index} ${JSON.stringify(c.prompt)}`;
      expect(sd15.tokenize(c.prompt), label).toEqual(c.tokens);
      expect(sd15.encode(c.prompt, { padding: false, truncation: false }).ids, label).toEqual(c.ids_untruncated);
      expect(sd15.encode(c.prompt), label).toEqual({ ids: c.input_ids, attentionMask: c.attention_mask });
      expect(sdxl2.encode(c.prompt), label).toEqual({ ids: c.input_ids_pad_bang, attentionMask: c.attention_mask_pad_bang });
    }
  });
});

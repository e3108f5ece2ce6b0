/**
 * A pipeline's tokenizer folder is read as transformers reads it: tokens added on top of vocab.json (textual-inversion
 * tokens saved with a pipeline, in added_tokens.json or tokenizer_config.json's added_tokens_decoder) are cut out of the
 * prompt and map to their ids, model_max_length sets the padded length, and a tokenizer that does not fit its text
 * encoder is refused at load instead of failing (or running another prompt) at generate().
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openPipelineFolder } from "../../src/pipeline/load.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { nodeFolderSource } from "../../src/weights/sources/node-folder-source.ts";
import { REPO_ROOT } from "../helpers/golden.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const BOS = 49406;
const EOS = 49407;

describe("tokenizer folders", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "qsched-tokenizer-"));
    cpSync(TOY, dir, { recursive: true, filter: (p) => !/\.safetensors$/.test(p) });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const configPath = () => join(dir, "tokenizer/tokenizer_config.json");
  const editConfig = (edit: (c: Record<string, unknown>) => void) => {
    const c = JSON.parse(readFileSync(configPath(), "utf8")) as Record<string, unknown>;
    edit(c);
    writeFileSync(configPath(), JSON.stringify(c));
  };
  const setEncoder = (fields: Record<string, unknown>) => {
    const path = join(dir, "text_encoder/config.json");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), ...fields }));
  };
  const tokenizer = async () => (await openPipelineFolder(nodeFolderSource(dir))).tokenizers[0]!;

  it("cuts added tokens out of the raw prompt (case-sensitive, longest first) and maps them to their ids", async () => {
    setEncoder({ vocab_size: 49410 }); // room for the two added rows
    editConfig((c) => {
      c.added_tokens_decoder = {
        "49406": { content: "<|startoftext|>", lstrip: false, normalized: true, rstrip: false, single_word: false, special: true },
        "49407": { content: "<|endoftext|>", lstrip: false, normalized: true, rstrip: false, single_word: false, special: true },
        "49408": { content: "<cat-toy>", lstrip: false, normalized: true, rstrip: false, single_word: false, special: false },
        "49409": { content: "<cat>", lstrip: false, normalized: true, rstrip: false, single_word: false, special: false },
      };
    });
    const tok = await tokenizer();
    const plain = (text: string) => tok.encodeContent(text);
    expect(tok.encode("a <cat-toy> on a mat", { padding: false }).ids).toEqual([BOS, ...plain("a"), 49408, ...plain("on a mat"), EOS]);
    // Longest match where both start; glued to words on either side, as transformers' trie cuts them.
    expect(tok.encodeContent("x<cat-toy><cat>y")).toEqual([...plain("x"), 49408, 49409, ...plain("y")]);
    // Matching is on the raw text: another case is ordinary text.
    expect(tok.encodeContent("<CAT>")).not.toContain(49409);
    expect(tok.encodeContent("<CAT>").length).toBeGreaterThan(1);
    expect(tok.vocabSize).toBe(49410);
  });

  it("reads added_tokens.json (older saves); added_tokens_decoder wins where both name a token", async () => {
    setEncoder({ vocab_size: 49410 });
    writeFileSync(join(dir, "tokenizer/added_tokens.json"), JSON.stringify({ "<sks>": 49408, "<both>": 49408 }));
    editConfig((c) => (c.added_tokens_decoder = { "49409": { content: "<both>", single_word: false } }));
    const tok = await tokenizer();
    expect(tok.encodeContent("a <sks> b <both>")).toEqual([...tok.encodeContent("a"), 49408, ...tok.encodeContent("b"), 49409]);
  });

  it("refuses an added token the text encoder has no embedding for, single_word tokens and malformed entries", async () => {
    writeFileSync(join(dir, "tokenizer/added_tokens.json"), JSON.stringify({ "<sks>": 49408 }));
    await expect(tokenizer()).rejects.toThrow(/tokenizer does not fit .*text_encoder\/config\.json: added token "<sks>" has id 49408, but the text encoder's vocab_size is 49408/);
    writeFileSync(join(dir, "tokenizer/added_tokens.json"), JSON.stringify({ "<sks>": -1 }));
    await expect(tokenizer()).rejects.toThrow(/added_tokens\.json: token "<sks>" has id -1, expected a non-negative integer/);
    rmSync(join(dir, "tokenizer/added_tokens.json"));
    editConfig((c) => (c.added_tokens_decoder = { "49406": { content: "<|startoftext|>", single_word: true } }));
    await expect(tokenizer()).rejects.toThrow(/added token "<\|startoftext\|>" has single_word: true, which this tokenizer does not implement/);
    editConfig((c) => (c.added_tokens_decoder = { first: { content: "<x>" } }));
    await expect(tokenizer()).rejects.toThrow(/added_tokens_decoder entry "first" must map an integer id/);
  });

  it("pads to model_max_length and refuses one the text encoder has no positions for", async () => {
    editConfig((c) => (c.model_max_length = 12));
    setEncoder({ max_position_embeddings: 12 });
    const tok = await tokenizer();
    expect(tok.modelMaxLength).toBe(12);
    expect(tok.encode("a red circle").ids).toHaveLength(12);
    setEncoder({ max_position_embeddings: 77 });
    editConfig((c) => (c.model_max_length = 78));
    await expect(tokenizer()).rejects.toThrow(/model_max_length is 78, but the text encoder has max_position_embeddings 77/);
    editConfig((c) => (c.model_max_length = 1e30)); // transformers' "no limit"
    await expect(tokenizer()).rejects.toThrow(/model_max_length must be an integer from 2 to 1048576, found 1e\+30/);
  });
});

describe("an added token in a prompt", () => {
  it("conditions the UNet with its own embedding row: an alias of an existing id gives that word's image", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-added-token-"));
    try {
      cpSync(TOY, dir, { recursive: true });
      const probe = await openPipelineFolder(nodeFolderSource(dir));
      const [redId] = probe.tokenizers[0]!.encodeContent("red");
      // "<my-red>" reuses the row of "red</w>": an added token pointing into vocab.json, as a re-saved folder can have.
      writeFileSync(join(dir, "tokenizer/added_tokens.json"), JSON.stringify({ "<my-red>": redId }));
      const pipe = await QSchedPipeline.fromPretrained(dir);
      try {
        const run = async (prompt: string) => (await pipe.generate({ prompt, seed: 3, steps: 1 })).images[0]!.data;
        const viaAlias = await run("a <my-red> circle");
        const viaWord = await run("a red circle");
        const other = await run("a <My-Red> circle"); // another case: ordinary text, another conditioning
        expect(Array.from(viaAlias)).toEqual(Array.from(viaWord));
        expect(Array.from(other)).not.toEqual(Array.from(viaWord));
      } finally {
        pipe.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

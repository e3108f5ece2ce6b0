import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLIPTokenizer, EOS_TOKEN } from "../../tokenizer/clip-tokenizer.ts";
import type { CaseResult, Manifest, VerifyKind } from "../types.ts";

/** One prompt of a tokenizer fixture (fields documented in the fixture README). */
interface TokenizerCase {
  index: number;
  category?: string;
  prompt: string;
  prompt_utf8_hex?: string;
  tokens?: string[];
  ids_untruncated?: number[];
  num_content_tokens?: number;
  truncated?: boolean;
  input_ids: number[];
  attention_mask: number[];
  input_ids_pad_bang?: number[];
  attention_mask_pad_bang?: number[];
  ids_untruncated_pad_bang?: number[];
}

interface CasesFile {
  bos_id?: number;
  eos_id?: number;
  pad_bang_id?: number;
  context_length?: number;
  vocab?: Record<string, string>;
  cases: TokenizerCase[];
}

/** The folder's files by role, found from the manifest's file list and their content (not their names). */
export interface TokenizerFolderFiles {
  cases?: CasesFile;
  vocabText?: string;
  mergesText?: string;
  /** sha256 of the raw bytes of every manifest file. */
  sha256: Map<string, string>;
  /** sha256 of the vocab and merges files. */
  vocabFilesSha256: string[];
}

type TokenizerFiles = TokenizerFolderFiles & { cases: CasesFile; vocabText: string; mergesText: string };

const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function manifestFileNames(manifest: Manifest): string[] {
  const files = manifest.files;
  if (typeof files !== "object" || files === null) throw new Error(`${manifest.kind}: manifest has no "files" object`);
  return Object.keys(files);
}

/**
 * Reads the files a manifest lists and tells them apart by content: a JSON with a `cases` list, a JSON mapping
 * "<|endoftext|>" to an id (vocab.json), a .txt starting with `#version` (merges.txt).
 */
export function findTokenizerFolderFiles(folder: string, manifest: Manifest): TokenizerFolderFiles {
  const found: TokenizerFolderFiles = { sha256: new Map(), vocabFilesSha256: [] };
  for (const name of manifestFileNames(manifest)) {
    const path = join(folder, name);
    if (!existsSync(path)) throw new Error(`${manifest.kind}: manifest lists ${name}, but ${path} does not exist`);
    if (!name.endsWith(".json") && !name.endsWith(".txt")) continue;
    const bytes = readFileSync(path);
    const hash = sha256Hex(bytes);
    found.sha256.set(name, hash);
    const text = bytes.toString("utf8");
    if (name.endsWith(".txt")) {
      if (text.startsWith("#version")) {
        found.mergesText = text;
        found.vocabFilesSha256.push(hash);
      }
      continue;
    }
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (Array.isArray(parsed.cases)) found.cases = parsed as unknown as CasesFile;
    // The vocab maps every token to an id: at least the 256 byte tokens, which tells it from the Hub's small
    // added_tokens.json (which also maps <|endoftext|>).
    else if (typeof parsed[EOS_TOKEN] === "number" && Object.keys(parsed).length > 256) {
      found.vocabText = text;
      found.vocabFilesSha256.push(hash);
    }
  }
  return found;
}

function findFiles(folder: string, manifest: Manifest): TokenizerFiles {
  const f = findTokenizerFolderFiles(folder, manifest);
  if (!f.cases) throw new Error("tokenizer: no file in the manifest holds a `cases` list");
  if (f.vocabText === undefined) throw new Error(`tokenizer: no JSON file in the manifest maps "${EOS_TOKEN}" to an id (vocab.json)`);
  if (f.mergesText === undefined) throw new Error("tokenizer: no .txt file in the manifest starts with #version (merges.txt)");
  return f as TokenizerFiles;
}

/** Exact text of a case: the UTF-8 bytes when given (control chars, BOM and NUL survive no matter the JSON tool). */
function promptOf(c: TokenizerCase): string {
  if (c.prompt_utf8_hex === undefined) return c.prompt;
  const hex = c.prompt_utf8_hex;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** First difference of two sequences, or null when equal. */
function firstDifference<T>(got: readonly T[], want: readonly T[]): string | null {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      return `length ${got.length} vs ${want.length}, first difference at ${i}: got ${JSON.stringify(got[i])}, expected ${JSON.stringify(want[i])}`;
    }
  }
  return null;
}

function checkCase(c: TokenizerCase, eosPad: CLIPTokenizer, bangPad: CLIPTokenizer, contextLength: number): CaseResult {
  const text = promptOf(c);
  const name = `case ${c.index}${c.category ? ` (${c.category})` : ""}`;
  const checks: [string, readonly unknown[] | undefined, () => readonly unknown[]][] = [
    ["tokens", c.tokens, () => eosPad.tokenize(text)],
    ["ids_untruncated", c.ids_untruncated, () => eosPad.encode(text, { padding: false, truncation: false }).ids],
    ["input_ids", c.input_ids, () => eosPad.encode(text, { maxLength: contextLength }).ids],
    ["attention_mask", c.attention_mask, () => eosPad.encode(text, { maxLength: contextLength }).attentionMask],
    ["input_ids_pad_bang", c.input_ids_pad_bang, () => bangPad.encode(text, { maxLength: contextLength }).ids],
    ["attention_mask_pad_bang", c.attention_mask_pad_bang, () => bangPad.encode(text, { maxLength: contextLength }).attentionMask],
    ["ids_untruncated_pad_bang", c.ids_untruncated_pad_bang, () => bangPad.encode(text, { padding: false, truncation: false }).ids],
  ];
  const compared: string[] = [];
  for (const [field, want, compute] of checks) {
    if (want === undefined) continue;
    const diff = firstDifference(compute(), want);
    if (diff) return { name, ok: false, detail: `${field}: ${diff}` };
    compared.push(field);
  }
  const contentLength = eosPad.encodeContent(text).length;
  if (c.num_content_tokens !== undefined && contentLength !== c.num_content_tokens) {
    return { name, ok: false, detail: `num_content_tokens: got ${contentLength}, expected ${c.num_content_tokens}` };
  }
  // BOS + content + EOS longer than the context means the 77-token ids were cut.
  const truncated = contentLength + 2 > contextLength;
  if (c.truncated !== undefined && truncated !== c.truncated) {
    return { name, ok: false, detail: `truncated: got ${truncated}, expected ${c.truncated}` };
  }
  return { name, ok: true, detail: `exact: ${compared.join(", ")}` };
}

/** A folder-level result: ok when no problem was found, the problems (or `okDetail`) as detail. */
function folderCheck(name: string, problems: string[], okDetail: string): CaseResult {
  return { name, ok: problems.length === 0, detail: problems.length ? problems.join("; ") : okDetail };
}

/** Folder-level facts: file hashes, vocab hashes recorded in the cases, special ids, the manifest's case lists. */
function checkFolder(
  manifest: Manifest,
  files: TokenizerFiles,
  eosPad: CLIPTokenizer,
  bangPad: CLIPTokenizer,
): CaseResult[] {
  const listed = manifest.files as Record<string, { sha256?: string }>;
  const hashProblems = [...files.sha256]
    .filter(([name, hash]) => listed[name]?.sha256 !== undefined && listed[name]?.sha256 !== hash)
    .map(([name]) => `${name}: sha256 differs from the manifest`);

  const recorded = Object.values(files.cases.vocab ?? {});
  const vocabProblems = recorded.length === 0 ? [] : files.vocabFilesSha256
    .filter((hash) => !recorded.includes(hash))
    .map((hash) => `vocab file sha256 ${hash} is not among those the cases record`);

  const c = files.cases;
  const idProblems: string[] = [];
  if (c.bos_id !== undefined && c.bos_id !== eosPad.bosId) idProblems.push(`bos: vocab ${eosPad.bosId}, cases ${c.bos_id}`);
  if (c.eos_id !== undefined && c.eos_id !== eosPad.eosId) idProblems.push(`eos: vocab ${eosPad.eosId}, cases ${c.eos_id}`);
  if (c.pad_bang_id !== undefined && c.pad_bang_id !== bangPad.padId) {
    idProblems.push(`pad "!": vocab ${bangPad.padId}, cases ${c.pad_bang_id}`);
  }

  const listProblems: string[] = [];
  if (typeof manifest.num_cases === "number" && manifest.num_cases !== c.cases.length) {
    listProblems.push(`manifest num_cases ${manifest.num_cases}, cases file has ${c.cases.length}`);
  }
  if (Array.isArray(manifest.pad_bang_content_differs)) {
    // Compared as sets: the cases file may list its cases in any order.
    const byNumber = (a: number, b: number) => a - b;
    const withBangIds = c.cases.filter((x) => x.ids_untruncated_pad_bang !== undefined).map((x) => x.index).sort(byNumber);
    const diff = firstDifference(withBangIds, [...(manifest.pad_bang_content_differs as number[])].sort(byNumber));
    if (diff) listProblems.push(`cases holding ids_untruncated_pad_bang vs manifest pad_bang_content_differs: ${diff}`);
  }
  return [
    folderCheck("files sha256", hashProblems, `${files.sha256.size} files match the manifest`),
    folderCheck("vocab files are the ones the cases were made with", vocabProblems, `${recorded.length} hashes recorded`),
    folderCheck("special token ids", idProblems, "bos, eos and pad ids match"),
    folderCheck("manifest case lists", listProblems, `${c.cases.length} cases`),
  ];
}

const tokenizerKind: VerifyKind = {
  kind: "tokenizer",
  defaultTol: 0, // ids are integers: exact equality only
  needsGpu: false,
  async run(folder, manifest, opts) {
    const files = findFiles(folder, manifest);
    const eosPad = CLIPTokenizer.fromFiles(files.vocabText, files.mergesText);
    const bangPad = CLIPTokenizer.fromFiles(files.vocabText, files.mergesText, { padToken: "!" });
    const contextLength = files.cases.context_length ?? 77;
    const results = checkFolder(manifest, files, eosPad, bangPad);
    for (const c of files.cases.cases) {
      try {
        results.push(checkCase(c, eosPad, bangPad, contextLength));
      } catch (e) {
        results.push({ name: `case ${c.index}`, ok: false, detail: `threw: ${(e as Error).message}` });
      }
    }
    opts.log?.(`tokenizer: ${files.cases.cases.length} cases from ${folder}`);
    return results;
  },
};

export default tokenizerKind;

/**
 * A pipeline's `tokenizer/` folder read as transformers' slow CLIPTokenizer.from_pretrained reads it: vocab.json and
 * merges.txt, the pad token, model_max_length, and tokens added on top of the vocabulary (textual-inversion tokens
 * saved with a pipeline).
 */
import { parseClipTextConfig } from "../models/clip-text/config.ts";
import { CLIPTokenizer } from "../tokenizer/clip-tokenizer.ts";
import type { WeightSource } from "../weights/sources/types.ts";

/** A pad_token / added-token entry: a string or an AddedToken object `{ "content": ... }`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  return typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string" ? (v as { content: string }).content : undefined;
}

async function readOptionalJson(source: WeightSource, path: string): Promise<Record<string, unknown> | undefined> {
  if (!(await source.exists(path))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await source.readText(path));
  } catch (e) {
    throw new Error(`${source.locate(path)}: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${source.locate(path)}: expected a JSON object`);
  return parsed as Record<string, unknown>;
}

/**
 * Added tokens from `added_tokens.json` ({token: id}, older saves) and `added_tokens_decoder` in
 * tokenizer_config.json ({id: AddedToken}, transformers ≥ 4.34); the second wins where both name a token.
 * `single_word` changes where transformers cuts a token out of the text; no CLIP checkpoint we know sets it, so it is
 * refused rather than approximated. lstrip/rstrip only trim spaces that CLIP's cleaning drops anyway.
 */
function addedTokensOf(source: WeightSource, folder: string, legacy: Record<string, unknown> | undefined, config: Record<string, unknown> | undefined): Map<string, number> {
  const added = new Map<string, number>();
  const legacyPath = source.locate(`${folder}/added_tokens.json`);
  for (const [token, id] of Object.entries(legacy ?? {})) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new Error(`${legacyPath}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected a non-negative integer`);
    added.set(token, id);
  }
  const decoder = config?.added_tokens_decoder;
  if (decoder === undefined) return added;
  const configPath = source.locate(`${folder}/tokenizer_config.json`);
  if (typeof decoder !== "object" || decoder === null || Array.isArray(decoder)) throw new Error(`${configPath}: added_tokens_decoder must map ids to tokens`);
  for (const [key, entry] of Object.entries(decoder)) {
    const id = Number(key);
    const content = tokenText(entry);
    if (!/^\d+$/.test(key) || content === undefined) throw new Error(`${configPath}: added_tokens_decoder entry ${JSON.stringify(key)} must map an integer id to { "content": ... }`);
    if ((entry as { single_word?: unknown }).single_word === true) {
      throw new Error(`${configPath}: added token ${JSON.stringify(content)} has single_word: true, which this tokenizer does not implement`);
    }
    added.set(content, id);
  }
  return added;
}

/** transformers' own "no limit" (VERY_LARGE_INTEGER, 1e30) and anything else past this is not a usable length. */
const MAX_SANE_LENGTH = 1 << 20;

export async function loadTokenizerFolder(source: WeightSource, folder: string): Promise<CLIPTokenizer> {
  const vocab = await source.readText(`${folder}/vocab.json`);
  const merges = await source.readText(`${folder}/merges.txt`);
  const specialMap = await readOptionalJson(source, `${folder}/special_tokens_map.json`);
  const config = await readOptionalJson(source, `${folder}/tokenizer_config.json`);
  // transformers takes the pad token from either file; some re-saved folders have only the second.
  const padToken = tokenText(specialMap?.pad_token) ?? tokenText(config?.pad_token);
  const addedTokens = addedTokensOf(source, folder, await readOptionalJson(source, `${folder}/added_tokens.json`), config);
  let modelMaxLength: number | undefined;
  const stated = config?.model_max_length;
  if (stated !== undefined) {
    if (typeof stated !== "number" || !Number.isInteger(stated) || stated < 2 || stated > MAX_SANE_LENGTH) {
      throw new Error(`${source.locate(`${folder}/tokenizer_config.json`)}: model_max_length must be an integer from 2 to ${MAX_SANE_LENGTH}, found ${JSON.stringify(stated)}`);
    }
    modelMaxLength = stated;
  }
  try {
    return CLIPTokenizer.fromFiles(vocab, merges, { padToken, addedTokens, modelMaxLength });
  } catch (e) {
    throw new Error(`${source.locate(folder)}: ${(e as Error).message}`);
  }
}

/**
 * The tokenizer must fit its text encoder: every id it can produce needs an embedding row, and its padded length a
 * position embedding. transformers would fail inside the embedding lookup; we say which files disagree at load.
 */
export function checkTokenizerFitsEncoder(tokenizer: CLIPTokenizer, encoderConfig: Record<string, unknown>, folders: { tokenizer: string; encoder: string }, locate: (path: string) => string): void {
  const { vocabSize, maxPositions } = parseClipTextConfig(encoderConfig);
  const where = `${locate(folders.tokenizer)} does not fit ${locate(`${folders.encoder}/config.json`)}`;
  if (tokenizer.modelMaxLength > maxPositions) {
    throw new Error(`${where}: model_max_length is ${tokenizer.modelMaxLength}, but the text encoder has max_position_embeddings ${maxPositions}`);
  }
  for (const [token, id] of tokenizer.addedTokens) {
    if (id >= vocabSize) throw new Error(`${where}: added token ${JSON.stringify(token)} has id ${id}, but the text encoder's vocab_size is ${vocabSize} (no embedding for it)`);
  }
}

import { wordToByteSymbols } from "./byte-alphabet.ts";
import { bytePairEncode, parseMergeRanks } from "./bpe.ts";
import { basicNormalize, preTokenize } from "./normalize.ts";

/** CLIP's fixed special tokens (ids of the 49408-token OpenAI vocabulary). */
export const BOS_TOKEN = "<|startoftext|>";
export const EOS_TOKEN = "<|endoftext|>";
/** Text encoders of SD 1.x/2.x/SDXL all use 77 positions. */
export const CLIP_CONTEXT_LENGTH = 77;
/** Above this many cached words the cache is dropped and refilled: bounds memory in long-lived pages. */
const MAX_CACHED_WORDS = 50_000;

export type PaddingMode = "max_length" | "longest" | false;

export interface EncodeOptions {
  /** Length for `padding: "max_length"` and for truncation (default: the tokenizer's modelMaxLength, 77). */
  maxLength?: number;
  /** "max_length" (default, what diffusers asks for): pad to maxLength; "longest": pad to the longest text of the
   * batch (no padding for a single text); false: no padding. */
  padding?: PaddingMode;
  /** Cut the content to maxLength - 2 tokens so BOS and EOS still fit (default true, as diffusers calls it). */
  truncation?: boolean;
}

export interface Encoding {
  ids: number[];
  /** 1 on BOS..EOS, 0 on padding. */
  attentionMask: number[];
}

export interface CLIPTokenizerOptions {
  /** The pad token: "<|endoftext|>" (default; SD 1.x, SDXL `tokenizer`) or "!" (SD 2.x, SDXL `tokenizer_2`). A pad
   * token that is not BOS/EOS is also a special token: every literal occurrence in a prompt becomes its id. */
  padToken?: string;
  /**
   * Tokens added on top of vocab.json (a folder's `added_tokens.json`, or `added_tokens_decoder` in
   * tokenizer_config.json), e.g. textual-inversion tokens saved with a pipeline: token → id. Like transformers' added
   * tokens they are cut out of the raw text before any cleaning (case-sensitive, longest match first) and map to
   * their id, which may lie past vocab.json's.
   */
  addedTokens?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** tokenizer_config.json's `model_max_length`: the default length to pad and truncate to (77 for every SD CLIP). */
  modelMaxLength?: number;
}

/**
 * The slow transformers `CLIPTokenizer` (without ftfy) rebuilt from vocab.json and merges.txt; no Node APIs, so it
 * runs in browsers too.
 */
export class CLIPTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly padToken: string;
  /** The added tokens (see CLIPTokenizerOptions.addedTokens), token → id. */
  readonly addedTokens: ReadonlyMap<string, number>;
  /** Default length for padding and truncation (transformers' `model_max_length`). */
  readonly modelMaxLength: number;
  /** Special tokens split off before any cleaning, in the order they are tried at each position. */
  private readonly specialTokens: readonly string[];
  private readonly wordCache = new Map<string, { tokens: string[]; ids: number[] }>();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly mergeRanks: ReadonlyMap<string, number>,
    padToken: string,
    addedTokens: ReadonlyMap<string, number>,
    modelMaxLength: number,
  ) {
    this.bosId = this.requireId(BOS_TOKEN);
    this.eosId = this.requireId(EOS_TOKEN);
    this.padToken = padToken;
    this.padId = this.requireId(padToken);
    this.addedTokens = addedTokens;
    this.modelMaxLength = modelMaxLength;
    const unsplit = new Set([BOS_TOKEN, EOS_TOKEN, padToken, ...addedTokens.keys()]);
    // Longest first, so a token that extends another one (`<cat-toy>` and `<cat>`) wins where both match.
    this.specialTokens = [...unsplit].filter((t) => t.length > 0).sort((a, b) => b.length - a.length);
  }

  /** Builds a tokenizer from the text of `vocab.json` and `merges.txt` (Hub `tokenizer/` layout). */
  static fromFiles(vocabJsonText: string, mergesText: string, opts: CLIPTokenizerOptions = {}): CLIPTokenizer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJsonText);
    } catch (e) {
      throw new Error(`CLIPTokenizer: vocab.json is not valid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("CLIPTokenizer: vocab.json must be an object mapping token strings to ids");
    }
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof id !== "number" || !Number.isInteger(id)) {
        throw new Error(`CLIPTokenizer: vocab.json entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected an integer`);
      }
      vocab.set(token, id);
    }
    const added = new Map(opts.addedTokens instanceof Map ? opts.addedTokens : Object.entries(opts.addedTokens ?? {}));
    for (const [token, id] of added) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        throw new Error(`CLIPTokenizer: added token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected a non-negative integer`);
      }
      if (token.length === 0) throw new Error(`CLIPTokenizer: added token with id ${id} is empty`);
      vocab.set(token, id);
    }
    const modelMaxLength = opts.modelMaxLength ?? CLIP_CONTEXT_LENGTH;
    if (!Number.isInteger(modelMaxLength) || modelMaxLength < 2) {
      throw new Error(`CLIPTokenizer: model_max_length must be an integer >= 2 (room for BOS and EOS), found ${modelMaxLength}`);
    }
    return new CLIPTokenizer(vocab, parseMergeRanks(mergesText), opts.padToken ?? EOS_TOKEN, added, modelMaxLength);
  }

  /** Number of vocabulary entries, added tokens included (transformers' `len(tokenizer)`). */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** BPE token strings of the content (no BOS/EOS); special tokens appear as themselves. */
  tokenize(text: string): string[] {
    return this.encodeContentWithTokens(text).tokens;
  }

  /** Content ids (no BOS/EOS, no truncation). */
  encodeContent(text: string): number[] {
    return this.encodeContentWithTokens(text).ids;
  }

  /** `tokenizer(text, padding, max_length, truncation)` for one text. */
  encode(text: string, opts: EncodeOptions = {}): Encoding {
    return this.encodeBatch([text], opts)[0] as Encoding;
  }

  /** `tokenizer(texts, ...)`: with `padding: "longest"` every row is padded to the longest row of the batch. */
  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): Encoding[] {
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    const padding = opts.padding ?? "max_length";
    const truncation = opts.truncation ?? true;
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new Error(`CLIPTokenizer.encode: maxLength must be an integer >= 2 (room for BOS and EOS), found ${maxLength}`);
    }
    const rows = texts.map((text) => {
      let content = this.encodeContent(text);
      if (truncation && content.length > maxLength - 2) content = content.slice(0, maxLength - 2);
      return [this.bosId, ...content, this.eosId];
    });
    let targetLength = 0;
    if (padding === "max_length") targetLength = maxLength;
    else if (padding === "longest") targetLength = Math.max(0, ...rows.map((r) => r.length));
    return rows.map((row) => {
      const attentionMask = row.map(() => 1);
      while (row.length < targetLength) {
        row.push(this.padId);
        attentionMask.push(0);
      }
      return { ids: row, attentionMask };
    });
  }

  private requireId(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`CLIPTokenizer: token ${JSON.stringify(token)} is not in vocab.json`);
    return id;
  }

  private encodeContentWithTokens(text: string): { tokens: string[]; ids: number[] } {
    const tokens: string[] = [];
    const ids: number[] = [];
    for (const piece of this.splitOnSpecialTokens(text)) {
      if (piece.special) {
        tokens.push(piece.text);
        ids.push(this.requireId(piece.text));
        continue;
      }
      for (const word of preTokenize(basicNormalize(piece.text))) {
        const encoded = this.encodeWord(word);
        tokens.push(...encoded.tokens);
        ids.push(...encoded.ids);
      }
    }
    return { tokens, ids };
  }

  /**
   * Cuts the raw text at every literal special or added token, scanning left to right, case-sensitive, no stripping
   * (CLIP's cleaning drops the spaces around them anyway); where several start at one position the longest wins, as
   * in transformers' trie.
   */
  private splitOnSpecialTokens(text: string): { text: string; special: boolean }[] {
    const pieces: { text: string; special: boolean }[] = [];
    let plainStart = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.specialTokens.find((t) => text.startsWith(t, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > plainStart) pieces.push({ text: text.slice(plainStart, i), special: false });
      pieces.push({ text: hit, special: true });
      i += hit.length;
      plainStart = i;
    }
    if (plainStart < text.length) pieces.push({ text: text.slice(plainStart), special: false });
    return pieces;
  }

  /** BPE of one regex match, cached (a pure function of the word). */
  private encodeWord(word: string): { tokens: string[]; ids: number[] } {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    // The special literals can still reach here (e.g. `<|ENDOFTEXT|>` after lower-casing): never split, no `</w>`.
    const tokens = word === BOS_TOKEN || word === EOS_TOKEN ? [word] : bytePairEncode(wordToByteSymbols(word), this.mergeRanks);
    // An unknown symbol maps to the unk token, which for CLIP is <|endoftext|>.
    const ids = tokens.map((t) => this.vocab.get(t) ?? this.eosId);
    const entry = { tokens, ids };
    if (this.wordCache.size >= MAX_CACHED_WORDS) this.wordCache.clear();
    this.wordCache.set(word, entry);
    return entry;
  }
}

/**
 * Text cleanup of transformers' slow CLIPTokenizer when `ftfy` is not installed: its BERT-style basic tokenizer
 * (lower-casing, no accent stripping, no punctuation splitting) followed by CLIP's pre-tokenizer regex.
 * Unicode classes come from the JS engine's tables (Node 20: Unicode 15); the reference used Python's Unicode 14,
 * which only differs on code points assigned after 2021.
 */

/** Category C* (Cc, Cf, Co, Cs, Cn); the basic tokenizer deletes these except \t \n \r. */
const OTHER_CATEGORY = /^\p{C}$/u;
/** Category Zs; becomes a plain space. */
const SPACE_SEPARATOR = /^\p{Zs}$/u;

/** CJK Unified Ideograph blocks that BERT's basic tokenizer isolates (not kana, hangul or fullwidth Latin). */
const CJK_RANGES: readonly (readonly [number, number])[] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];

function isCjkIdeograph(cp: number): boolean {
  for (const [lo, hi] of CJK_RANGES) if (cp >= lo && cp <= hi) return true;
  return false;
}

/**
 * Per code point: drop NUL, U+FFFD and category C (keeping \t \n \r), turn whitespace into a space, and put a space
 * on each side of every CJK ideograph.
 */
export function cleanText(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === "\t" || ch === "\n" || ch === "\r" || ch === " " || SPACE_SEPARATOR.test(ch)) {
      out += " ";
    } else if (cp === 0 || cp === 0xfffd || OTHER_CATEGORY.test(ch)) {
      continue;
    } else if (isCjkIdeograph(cp)) {
      out += ` ${ch} `;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Python's `str.split()` separators that can survive `cleanText`: the space, and U+2028 / U+2029 (categories Zl / Zp
 * are not Zs, so cleaning keeps them, but Python counts them as whitespace). Other Python whitespace is either Zs or a
 * control character and is already gone.
 */
const PY_WHITESPACE_RUN = /[ \u2028\u2029]+/u;

/** Cleaning, NFC, whitespace split, per-piece lower-casing, joined with single spaces. */
export function basicNormalize(text: string): string {
  const nfc = cleanText(text).normalize("NFC");
  return nfc
    .split(PY_WHITESPACE_RUN)
    .filter((piece) => piece.length > 0)
    // Lower-case per piece like Python does: the final-sigma rule then sees the same word boundaries.
    .map((piece) => piece.toLowerCase())
    .join(" ");
}

/**
 * CLIP's pre-tokenizer: special literals, ASCII-apostrophe contractions, letter runs, single digits, runs of other
 * non-space symbols. The reference compiles it with Python `regex` IGNORECASE; on already lower-cased text that
 * differs from a case-sensitive match in exactly two places (checked over every Unicode 14 code point), which are
 * spelled out here instead of using JS's `i` flag (whose case folding differs again):
 * - `ſ` (long s) folds to s: `'ſ` is the contraction `'s`, and `<|ſtartoftext|>` matches as one word;
 * - U+0345 COMBINING GREEK YPOGEGRAMMENI folds to a letter (ι), so under IGNORECASE it is neither a letter nor in
 *   the negated class: it matches no alternative and is dropped.
 */
const CLIP_WORD_PATTERN =
  /<\|[s\u017f]tartoftext\|>|<\|endoftext\|>|'[s\u017f]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}\u0345]+/gu;

/** All regex matches of a normalized chunk, left to right; the unmatched rest (spaces) is dropped. */
export function preTokenize(normalized: string): string[] {
  return normalized.match(CLIP_WORD_PATTERN) ?? [];
}

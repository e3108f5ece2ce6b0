/**
 * GPT-2 / CLIP byte-level alphabet: every byte 0..255 maps to one printable code point, so a UTF-8 word can be
 * written as a string of "symbols" that BPE merges without ever seeing whitespace or control bytes.
 * Printable bytes (0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF) map to themselves; the other 68 bytes map, in increasing byte
 * order, to U+0100, U+0101, ... U+0143.
 */
function isSelfMappedByte(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

function buildByteToSymbol(): string[] {
  const table = new Array<string>(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(isSelfMappedByte(b) ? b : next++);
  }
  return table;
}

/** BYTE_TO_SYMBOL[b] is the one-character symbol for byte b. */
export const BYTE_TO_SYMBOL: readonly string[] = buildByteToSymbol();

const utf8 = new TextEncoder();

/** The symbols of one pre-tokenized word: its UTF-8 bytes, each mapped through the byte alphabet. */
export function wordToByteSymbols(word: string): string[] {
  const bytes = utf8.encode(word);
  const out = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_SYMBOL[bytes[i] as number] as string;
  return out;
}

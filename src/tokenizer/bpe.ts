/**
 * CLIP's byte-pair encoding of one pre-tokenized word. Symbols start as the byte-alphabet characters with `</w>`
 * glued to the last one; the adjacent pair with the lowest merge rank is merged everywhere it occurs (left to right,
 * non-overlapping) until no adjacent pair has a rank.
 */

/** Suffix CLIP appends to the last symbol of every word. */
export const END_OF_WORD = "</w>";

/** `#version` header, then one "left right" merge per line. */
const MERGES_HEADER = /^#version/;

/**
 * Ranks of the merges in merges.txt: rank = line index after the `#version` line. Only the first `maxMerges` lines
 * count (CLIP uses 49152 - 256 - 2 = 48894; the Hub file holds exactly that many).
 */
export function parseMergeRanks(mergesText: string, maxMerges = 48894): Map<string, number> {
  const lines = mergesText.split("\n");
  let start = 0;
  if (lines.length > 0 && MERGES_HEADER.test(lines[0] as string)) start = 1;
  const ranks = new Map<string, number>();
  for (let i = start; i < lines.length && ranks.size < maxMerges; i++) {
    const line = (lines[i] as string).replace(/\r$/, "");
    if (line.length === 0) continue;
    const parts = line.split(" ");
    if (parts.length !== 2) {
      throw new Error(`merges.txt line ${i + 1}: expected "left right", found ${JSON.stringify(line)}`);
    }
    ranks.set(pairKey(parts[0] as string, parts[1] as string), ranks.size);
  }
  return ranks;
}

/** Map key of an adjacent pair; a space cannot occur inside a symbol (the byte alphabet maps it to U+0120). */
function pairKey(left: string, right: string): string {
  return `${left} ${right}`;
}

/** BPE of one word given as byte-alphabet symbols; returns the final symbols (the last one ends in `</w>`). */
export function bytePairEncode(symbols: readonly string[], ranks: ReadonlyMap<string, number>): string[] {
  if (symbols.length === 0) return [];
  let word = symbols.slice();
  word[word.length - 1] += END_OF_WORD;
  while (word.length > 1) {
    let bestRank = Infinity;
    let bestLeft = "";
    let bestRight = "";
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(pairKey(word[i] as string, word[i + 1] as string));
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        bestLeft = word[i] as string;
        bestRight = word[i + 1] as string;
      }
    }
    if (bestRank === Infinity) break;
    const merged: string[] = [];
    for (let i = 0; i < word.length; ) {
      if (i + 1 < word.length && word[i] === bestLeft && word[i + 1] === bestRight) {
        merged.push(bestLeft + bestRight);
        i += 2;
      } else {
        merged.push(word[i] as string);
        i += 1;
      }
    }
    word = merged;
  }
  return word;
}

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FIXTURE_GOLDEN } from "../helpers/golden.ts";
import { basicNormalize, cleanText, CLIPTokenizer, preTokenize } from "../../src/tokenizer/index.ts";
import { parseMergeRanks, bytePairEncode } from "../../src/tokenizer/bpe.ts";
import { BYTE_TO_SYMBOL } from "../../src/tokenizer/byte-alphabet.ts";

const dir = join(FIXTURE_GOLDEN, "tokenizer");
const vocab = readFileSync(join(dir, "vocab.json"), "utf8");
const merges = readFileSync(join(dir, "merges.txt"), "utf8");
const tok = CLIPTokenizer.fromFiles(vocab, merges);
const BOS = 49406;
const EOS = 49407;

describe("text cleanup", () => {
  test("drops category C (not tab/newline/CR), NUL and U+FFFD; spaces CJK ideographs only", () => {
    expect(cleanText("a\u200bb\u00adc\ufeffd\u0000e\ufffdf")).toBe("abcdef");
    expect(cleanText("a\tb\nc\rd\u3000e")).toBe("a b c d e");
    expect(cleanText("猫カ한ａ")).toBe(" 猫 カ한ａ");
  });

  test("NFC, per-piece lower-casing, whitespace collapse", () => {
    expect(basicNormalize("  Cafe\u0301   AU\u2028LAIT ")).toBe("café au lait");
    expect(basicNormalize("İ")).toBe("i\u0307");
  });

  test("pre-tokenizer splits contractions, single digits and symbol runs", () => {
    expect(preTokenize("it's 2024, ok!!")).toEqual(["it", "'s", "2", "0", "2", "4", ",", "ok", "!!"]);
    expect(preTokenize("it\u2019s")).toEqual(["it", "\u2019", "s"]);
  });

  test("the two places where the reference's IGNORECASE matters on lower-cased text", () => {
    // Expected values from Python `regex` with IGNORECASE (the reference); a 40,000-string fuzz over every
    // Unicode 14 code point found no other difference between that and this pattern.
    expect(preTokenize("a\u0345b")).toEqual(["a", "b"]);
    expect(preTokenize(".\u0345.")).toEqual([".", "."]);
    expect(preTokenize("it'\u017f")).toEqual(["it", "'\u017f"]);
    expect(preTokenize("<|\u017ftartoftext|>")).toEqual(["<|\u017ftartoftext|>"]);
  });
});

describe("byte alphabet and BPE", () => {
  test("68 remapped bytes go to U+0100..U+0143 in byte order", () => {
    expect(BYTE_TO_SYMBOL[0x20]).toBe("\u0120");
    expect(BYTE_TO_SYMBOL[0x00]).toBe("\u0100");
    expect(BYTE_TO_SYMBOL[0xad]).toBe("\u0143");
    expect(BYTE_TO_SYMBOL[0x41]).toBe("A");
    expect(new Set(BYTE_TO_SYMBOL).size).toBe(256);
  });

  test("merge ranks skip the #version line and count 48894 merges", () => {
    const ranks = parseMergeRanks(merges);
    expect(ranks.size).toBe(48894);
    expect(ranks.get(merges.split("\n")[1] as string)).toBe(0);
  });

  test("lowest rank merges everywhere; a one-symbol word is char</w>", () => {
    // `</w>` sits on the last symbol, so "a b" cannot merge there; the rank-1 pair "a b</w>" does afterwards.
    const ranks = new Map([["a b", 0], ["a b</w>", 1]]);
    expect(bytePairEncode(["a", "b", "a", "b", "a", "b"], ranks)).toEqual(["ab", "ab", "ab</w>"]);
    expect(bytePairEncode(["a", "b", "a", "b", "a", "b"], new Map([["a b", 0]]))).toEqual(["ab", "ab", "a", "b</w>"]);
    expect(bytePairEncode(["x"], ranks)).toEqual(["x</w>"]);
  });

  test("malformed merges line is reported with its line number", () => {
    expect(() => parseMergeRanks("#version: 0.2\na b c\n")).toThrow(/line 2/);
  });
});

describe("encode options", () => {
  test("padding modes and masks", () => {
    const content = tok.encodeContent("a cat");
    expect(tok.encode("a cat", { padding: false }).ids).toEqual([BOS, ...content, EOS]);
    expect(tok.encode("a cat", { padding: "longest" }).attentionMask).toEqual([1, 1, 1, 1]);
    const batch = tok.encodeBatch(["a cat", "a very small cat"], { padding: "longest" });
    expect(batch[0]?.ids.length).toBe(batch[1]?.ids.length);
    expect(batch[0]?.attentionMask).toEqual([1, 1, 1, 1, 0, 0]);
    expect(batch[0]?.ids.slice(4)).toEqual([EOS, EOS]);
    const padded = tok.encode("a cat");
    expect(padded.ids.length).toBe(77);
    expect(padded.attentionMask.reduce((s, m) => s + m, 0)).toBe(4);
  });

  test("75 content tokens fill 77 positions; 76 are cut to 75 with EOS kept last", () => {
    const fits = "a ".repeat(75);
    const over = "a ".repeat(76);
    expect(tok.encode(fits).attentionMask.every((m) => m === 1)).toBe(true);
    const cut = tok.encode(over);
    expect(cut.ids.length).toBe(77);
    expect(cut.ids[76]).toBe(EOS);
    expect(tok.encode(over, { truncation: false }).ids.length).toBe(78);
    expect(tok.encode("a b c d", { maxLength: 4 }).ids).toEqual([BOS, ...tok.encodeContent("a b"), EOS]);
  });

  test("`!` is a special token only for the `!`-padded tokenizer", () => {
    const bang = CLIPTokenizer.fromFiles(vocab, merges, { padToken: "!" });
    expect(bang.padId).toBe(0);
    expect(bang.encodeContent("wow!!!")).toEqual([...tok.encodeContent("wow"), 0, 0, 0]);
    expect(tok.tokenize("wow!!!")).toEqual(["wow</w>", "!!!</w>"]);
  });

  test("special literals: split when exact, BPE-cached when lower-cased", () => {
    expect(tok.encodeContent("<|endoftext|>")).toEqual([EOS]);
    expect(tok.encodeContent("<|ENDOFTEXT|>")).toEqual([EOS]);
    expect(tok.encodeContent("x<|startoftext|>")).toEqual([...tok.encodeContent("x"), BOS]);
  });

  test("cache gives the same answer on repeat", () => {
    const first = tok.encode("a repeated repeated prompt");
    expect(tok.encode("a repeated repeated prompt")).toEqual(first);
  });

  test("bad inputs are reported with what was expected", () => {
    expect(() => CLIPTokenizer.fromFiles("[]", merges)).toThrow(/object/);
    expect(() => CLIPTokenizer.fromFiles(JSON.stringify({ a: 1 }), merges)).toThrow(/<\|startoftext\|>/);
    expect(() => tok.encode("x", { maxLength: 1 })).toThrow(/maxLength/);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { calibrate, type CalibrateOptions } from "../../src/calibration/calibrate.ts";
import { fileJournalStore } from "../../src/calibration/journal-file.ts";
import { CalibrationJournal, hashPrompts, JournalMismatchError, MemoryJournalStore, type JournalKey } from "../../src/calibration/journal.ts";
import { bowl, fakeGenerator, fakeScorer } from "./fakes.ts";

const PROMPTS = ["a red circle", "two blue squares"];

function options(extra: Partial<CalibrateOptions> = {}): CalibrateOptions {
  return { model: "toy-shapes", scheme: "w4a8", steps: 4, prompts: PROMPTS, generate: fakeGenerator(), scorer: fakeScorer(bowl), ...extra };
}

/** A generator that dies (like a killed process) once `limit` images have been made. */
function dyingGenerator(limit: number, calls = { count: 0 }) {
  const gen = fakeGenerator(calls);
  return async (m: number, s: number, p: string, seed: number) => {
    if (calls.count >= limit) throw new Error("killed");
    return gen(m, s, p, seed);
  };
}

describe("calibration journal", () => {
  for (const search of ["fast", "grid"] as const) {
    it(`${search}: a run killed after k images resumes and generates only the rest`, async () => {
      const fresh = await calibrate(options({ search }));
      const total = fresh.generatedImages; // grid: 81 × 2 prompts; fast: at most 10 % of that, in chunks
      expect(total).toBe(search === "grid" ? 162 : fresh.generatedImages);
      expect(total).toBeLessThanOrEqual(search === "grid" ? 162 : 16);
      const k = search === "fast" ? 9 : 61; // mid-run, in the fast search's finalist stage
      const store = new MemoryJournalStore();
      await expect(calibrate(options({ search, journal: store, generate: dyingGenerator(k) }))).rejects.toThrow("killed");
      const chunks = store.text!.trim().split("\n").slice(1).map((l) => JSON.parse(l) as { to: number; from: number });
      const journalled = chunks.reduce((a, c) => a + c.to - c.from, 0);
      expect(journalled).toBeLessThanOrEqual(k); // the chunk in flight is lost, nothing else

      const calls = { count: 0 };
      const resumed = await calibrate(options({ search, journal: store, generate: fakeGenerator(calls) }));
      expect(calls.count).toBe(total - journalled);
      expect(resumed.generatedImages).toBe(total - journalled);
      expect(resumed.coefficients.qsched).toEqual(fresh.coefficients.qsched);
      expect(resumed.landscape.map((p) => [p.m, p.s, p.jaq, p.prompts])).toEqual(fresh.landscape.map((p) => [p.m, p.s, p.jaq, p.prompts]));
    });
  }

  it("a finished journal replays the whole run without generating", async () => {
    const store = new MemoryJournalStore();
    await calibrate(options({ journal: store }));
    const calls = { count: 0 };
    const again = await calibrate(options({ journal: store, generate: fakeGenerator(calls) }));
    expect(calls.count).toBe(0);
    expect(again.landscape.every((p) => p.resumed)).toBe(true);
  });

  it("refuses a journal of another model, scheme, steps, prompt set or search, naming the field", async () => {
    const store = new MemoryJournalStore();
    await calibrate(options({ journal: store }));
    const cases: Array<[Partial<CalibrateOptions>, RegExp]> = [
      [{ model: "other-model" }, /model: expected "other-model", found "toy-shapes"/],
      [{ scheme: "w8a8" }, /scheme: expected "w8a8", found "w4a8"/],
      [{ steps: 2 }, /steps: expected 2, found 4/],
      [{ prompts: ["a red circle", "two green squares"] }, /promptsHash/],
      [{ seeds: [1, 2] }, /seeds: expected \[1,2\], found \[100,101\]/],
      [{ search: "grid" }, /search: expected/],
      [{ budget: 10 }, /search: expected/],
    ];
    for (const [change, message] of cases) {
      const before = store.text;
      const run = calibrate(options({ journal: store, ...change }));
      await expect(run).rejects.toBeInstanceOf(JournalMismatchError);
      await expect(calibrate(options({ journal: store, ...change }))).rejects.toThrow(message);
      expect(store.text).toBe(before); // nothing appended to the foreign journal
    }
  });

  it("ignores a torn last line (killed mid-write) and continues on a fresh line", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1, 2], search: { search: "fast" } };
    const store = new MemoryJournalStore();
    const j = await CalibrationJournal.open(store, key);
    await j.record({ m: 1, s: 1, from: 0, to: 1, pairScores: [60], clipIqa: [0.7], jaq: 5.5 });
    store.text += '{"m":0.9,"s":0.9,"fr';
    const reopened = await CalibrationJournal.open(store, key);
    expect(reopened.size).toBe(1);
    expect(reopened.lookup(1, 1)).toEqual({ m: 1, s: 1, pairScores: [60], clipIqa: [0.7] });
    await reopened.record({ m: 1, s: 1, from: 1, to: 2, pairScores: [null], clipIqa: [0.5], jaq: null });
    expect((await CalibrationJournal.open(store, key)).lookup(1, 1)).toEqual({ m: 1, s: 1, pairScores: [60, Number.NaN], clipIqa: [0.7, 0.5] });
  });

  it("keeps a last line that lost only its newline, and reopens any number of times after resuming on it", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1, 2], search: { search: "fast" } };
    const store = new MemoryJournalStore();
    const j = await CalibrationJournal.open(store, key);
    await j.record({ m: 1, s: 1, from: 0, to: 1, pairScores: [60], clipIqa: [0.7], jaq: 5.5 });
    await j.record({ m: 0.9, s: 0.9, from: 0, to: 1, pairScores: [61], clipIqa: [0.6], jaq: 5.4 });
    store.text = store.text!.slice(0, -1); // a short write that stopped right before the newline
    const reopened = await CalibrationJournal.open(store, key);
    expect(reopened.lookup(0.9, 0.9)).toEqual({ m: 0.9, s: 0.9, pairScores: [61], clipIqa: [0.6] });
    expect(store.text!.endsWith("}\n")).toBe(true);
    // A run of the old code scored the lost-newline chunk again: the copy is skipped, not refused.
    store.text += `${JSON.stringify({ m: 0.9, s: 0.9, from: 0, to: 1, pairScores: [61], clipIqa: [0.6], jaq: 5.4 })}\n`;
    for (let i = 0; i < 2; i++) expect((await CalibrationJournal.open(store, key)).lookup(0.9, 0.9)!.pairScores).toEqual([61]);
  });

  it("a journal file created blank by hand gets its header and reopens", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1], search: {} };
    const store = new MemoryJournalStore("\n");
    await (await CalibrationJournal.open(store, key)).record({ m: 1, s: 1, from: 0, to: 1, pairScores: [60], clipIqa: [0.7], jaq: 5.5 });
    expect((await CalibrationJournal.open(store, key)).lookup(1, 1)!.pairScores).toEqual([60]);
  });

  it("prompt lists that join to the same text are different prompt sets", async () => {
    expect(await hashPrompts(["a\nb", "c"])).not.toBe(await hashPrompts(["a", "b\nc"]));
  });

  it("refuses a bad scheme, grid size, lattice resolution or box before writing the journal", async () => {
    const cases: Array<[Partial<CalibrateOptions>, RegExp]> = [
      [{ scheme: "int4" }, /scheme must be one of none, w8a8, w4a8, w8a16, w4a16, found "int4"/],
      [{ search: "grid", gridN: 0, budget: 10 }, /grid search: n must be a positive integer, found 0/],
      [{ search: "grid", gridN: 1.5 }, /grid search: n must be a positive integer, found 1\.5/],
      [{ resolution: 0 }, /resolution must be > 0 and at most the box's smaller side, found 0/],
      [{ resolution: 1 }, /resolution must be > 0 and at most the box's smaller side, found 1/],
      [{ box: { mMin: 1.2, mMax: 0.8, sMin: 0.8, sMax: 1.2 } }, /box/],
    ];
    for (const [change, message] of cases) {
      const store = new MemoryJournalStore();
      await expect(calibrate(options({ journal: store, ...change }))).rejects.toThrow(message);
      expect(store.text).toBeUndefined();
    }
  });

  it("refuses a chunk that does not continue its candidate's prompts, and a version 1 journal with the reason", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1, 2], search: {} };
    const header = JSON.stringify({ type: "qsched-calibration-journal", version: 2, key });
    const gap = `${header}\n${JSON.stringify({ m: 1, s: 1, from: 1, to: 2, pairScores: [1], clipIqa: [0.5], jaq: null })}\n`;
    await expect(CalibrationJournal.open(new MemoryJournalStore(gap), key)).rejects.toThrow(/candidate \(1, 1\) has prompts \[0, 0\) recorded, found a chunk for \[1, 2\)/);
    const v1 = `${JSON.stringify({ type: "qsched-calibration-journal", version: 1, key })}\n{"m":1,"s":1,"jaq":5,"failed":false}\n`;
    await expect(CalibrationJournal.open(new MemoryJournalStore(v1), key)).rejects.toThrow(/is version 1 \(one whole-set JAQ per candidate\); this version needs version 2 .*use another journal file or delete this one/);
  });

  it("refuses a file that is not a journal", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1], search: {} };
    await expect(CalibrationJournal.open(new MemoryJournalStore("hello\n"), key)).rejects.toThrow(/first line is not JSON/);
    await expect(CalibrationJournal.open(new MemoryJournalStore('{"type":"x"}\n'), key)).rejects.toThrow(/header must be type "qsched-calibration-journal"/);
  });

  describe("file store", () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-journal-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("appends one line per scored chunk to a JSON-lines file and resumes from it", async () => {
      const path = join(dir, "run.jsonl");
      const total = (await calibrate(options())).generatedImages;
      await expect(calibrate(options({ journal: fileJournalStore(path), generate: dyingGenerator(3) }))).rejects.toThrow("killed");
      const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ type: "qsched-calibration-journal", version: 2, key: { model: "toy-shapes", scheme: "w4a8", steps: 4 } });
      expect(lines.slice(1)).toHaveLength(3); // screening chunks of one prompt each
      expect(lines[1]).toMatchObject({ from: 0, to: 1, pairScores: [expect.any(Number)], clipIqa: [expect.any(Number)] });
      const calls = { count: 0 };
      await calibrate(options({ journal: fileJournalStore(path), generate: fakeGenerator(calls) }));
      expect(calls.count).toBe(total - 3);
      writeFileSync(join(dir, "other.jsonl"), readFileSync(path, "utf8"));
      await expect(calibrate(options({ model: "sd-turbo", journal: fileJournalStore(join(dir, "other.jsonl")) }))).rejects.toThrow(/belongs to another run/);
    });
  });
});

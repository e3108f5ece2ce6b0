import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { calibrate, type CalibrateOptions } from "../../src/calibration/calibrate.ts";
import { fileJournalStore } from "../../src/calibration/journal-file.ts";
import { CalibrationJournal, JournalMismatchError, MemoryJournalStore, type JournalKey } from "../../src/calibration/journal.ts";
import { bowl, fakeGenerator, fakeScorer } from "./fakes.ts";

const PROMPTS = ["a red circle", "two blue squares"];

function options(extra: Partial<CalibrateOptions> = {}): CalibrateOptions {
  return { model: "toy-shapes", scheme: "w4a8", steps: 4, prompts: PROMPTS, generate: fakeGenerator(), scorer: fakeScorer(bowl), ...extra };
}

/** A generator that dies (like a killed process) once `limit` candidates' images have been made. */
function dyingGenerator(limit: number, calls = { count: 0 }) {
  const gen = fakeGenerator(calls);
  return async (m: number, s: number, p: string, seed: number) => {
    if (calls.count >= limit * PROMPTS.length) throw new Error("killed");
    return gen(m, s, p, seed);
  };
}

describe("calibration journal", () => {
  for (const search of ["fast", "grid"] as const) {
    it(`${search}: a run killed after k candidates resumes and evaluates only the rest`, async () => {
      const total = search === "fast" ? 8 : 81;
      const k = search === "fast" ? 5 : 30;
      const store = new MemoryJournalStore();
      await expect(calibrate(options({ search, journal: store, generate: dyingGenerator(k) }))).rejects.toThrow("killed");
      expect(store.text!.trim().split("\n")).toHaveLength(1 + k); // header + one line per finished candidate

      const calls = { count: 0 };
      const resumed = await calibrate(options({ search, journal: store, generate: fakeGenerator(calls) }));
      expect(calls.count).toBe((total - k) * PROMPTS.length);
      expect(resumed.generatedCandidates).toBe(total - k);
      expect(resumed.landscape.filter((p) => p.resumed)).toHaveLength(k);

      const fresh = await calibrate(options({ search }));
      expect(resumed.coefficients.qsched).toEqual(fresh.coefficients.qsched);
      expect(resumed.landscape.map((p) => [p.m, p.s, p.jaq])).toEqual(fresh.landscape.map((p) => [p.m, p.s, p.jaq]));
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
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1], search: { search: "fast" } };
    const store = new MemoryJournalStore();
    const j = await CalibrationJournal.open(store, key);
    await j.record({ m: 1, s: 1, jaq: 5.5, failed: false });
    store.text += '{"m":0.9,"s":0.9,"ja';
    const reopened = await CalibrationJournal.open(store, key);
    expect(reopened.size).toBe(1);
    expect(reopened.lookup(1, 1)?.jaq).toBe(5.5);
    await reopened.record({ m: 0.9, s: 0.9, jaq: null, failed: true });
    expect((await CalibrationJournal.open(store, key)).lookup(0.9, 0.9)).toEqual({ m: 0.9, s: 0.9, jaq: null, clipScore: undefined, meanClipIqa: undefined, failed: true });
  });

  it("refuses a file that is not a journal", async () => {
    const key: JournalKey = { model: "m", scheme: "w4a8", steps: 4, promptsHash: "abc", seeds: [1], search: {} };
    await expect(CalibrationJournal.open(new MemoryJournalStore("hello\n"), key)).rejects.toThrow(/first line is not JSON/);
    await expect(CalibrationJournal.open(new MemoryJournalStore('{"type":"x"}\n'), key)).rejects.toThrow(/header must be type "qsched-calibration-journal"/);
  });

  describe("file store", () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-journal-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("appends one line per candidate to a JSON-lines file and resumes from it", async () => {
      const path = join(dir, "run.jsonl");
      await expect(calibrate(options({ journal: fileJournalStore(path), generate: dyingGenerator(3) }))).rejects.toThrow("killed");
      const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ type: "qsched-calibration-journal", version: 1, key: { model: "toy-shapes", scheme: "w4a8", steps: 4 } });
      expect(lines.slice(1)).toHaveLength(3);
      const calls = { count: 0 };
      await calibrate(options({ journal: fileJournalStore(path), generate: fakeGenerator(calls) }));
      expect(calls.count).toBe(5 * PROMPTS.length);
      writeFileSync(join(dir, "other.jsonl"), readFileSync(path, "utf8"));
      await expect(calibrate(options({ model: "sd-turbo", journal: fileJournalStore(join(dir, "other.jsonl")) }))).rejects.toThrow(/belongs to another run/);
    });
  });
});

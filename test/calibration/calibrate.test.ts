import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibration/calibrate.ts";
import { DEFAULT_CALIBRATION_PROMPTS, defaultSeeds, parsePromptFile, racingOrder } from "../../src/calibration/prompts.ts";
import { parseCoefficientFile, serializeCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { MemoryJournalStore } from "../../src/calibration/journal.ts";
import { bowl, fakeGenerator, fakeScorer } from "./fakes.ts";

const PROMPTS = ["a red circle", "two blue squares", "a green star on a white background"];
const base = { model: "toy-shapes", scheme: "w4a8", steps: 4, prompts: PROMPTS };

describe("calibrate", () => {
  it("grid search finds the known optimum and writes a coefficient file that parses back", async () => {
    const calls = { count: 0 };
    const r = await calibrate({ ...base, generate: fakeGenerator(calls), scorer: fakeScorer(bowl), search: "grid", date: new Date("2026-11-25T12:00:00Z") });
    expect(calls.count).toBe(81 * PROMPTS.length); // one image per prompt per candidate
    expect(r.landscape).toHaveLength(81);
    const file = parseCoefficientFile(serializeCoefficientFile(r.coefficients));
    expect(file).toMatchObject({ model: "toy-shapes", steps: 4, qsched: { scheme: "linear", m: 0.95, s: 0.9 }, calibration: { metric: "JAQ" }, date: "2026-11-25T12:00:00.000Z" });
    // Fake scores: CLIPScore = 100·0.8, CLIP-IQA = sigmoid(100·0.6) = 1 to double precision ⇒ JAQ = ln 80 + 2;
    // the embeddings are float32 (0.8 stored with ~1e-8 relative error), hence 6 decimals.
    expect(file.calibration!.score).toBeCloseTo(Math.log(80) + 2, 6);
    const top = r.landscape.find((p) => p.m === 0.95 && p.s === 0.9)!;
    expect(top.clipScore).toBeCloseTo(80, 4); // float32 embeddings: 1e-4 relative
    expect(top.meanClipIqa).toBeCloseTo(1, 9);
  });

  it("fast search (default) generates at most 10 % of the grid's images and lands within 0.5 % JAQ of the optimum", async () => {
    const calls = { count: 0 };
    const r = await calibrate({ ...base, generate: fakeGenerator(calls), scorer: fakeScorer(bowl) });
    expect(calls.count).toBe(r.generatedImages);
    expect(r.generatedImages).toBeLessThanOrEqual(Math.floor((81 * PROMPTS.length) / 10));
    expect(r.generatedCandidates).toBe(r.landscape.length);
    // Racing: most candidates are screened on the first prompt only, the chosen one is scored on all three.
    expect(r.landscape.filter((p) => p.prompts === 1).length).toBeGreaterThan(r.landscape.filter((p) => p.prompts === 3).length);
    const q = r.coefficients.qsched as { m: number; s: number };
    const chosen = r.landscape.find((p) => p.m === q.m && p.s === q.s)!;
    expect(chosen.prompts).toBe(3);
    // Same bound as the search tests: the noise-free bowl is fitted exactly; the lattice costs < 0.5 %.
    expect(Math.log(80) + 2 - r.coefficients.calibration!.score).toBeLessThan(0.005 * (Math.log(80) + 2));
  });

  it("embeds the prompt and anchor texts once for the whole run", async () => {
    const scorer = fakeScorer(bowl);
    await calibrate({ ...base, generate: fakeGenerator(), scorer });
    expect(scorer.textCalls).toBe(1);
  });

  it("marks non-finite candidates failed, keeps going, and never chooses one", async () => {
    const failAt = (m: number) => m >= 1.1; // zero image embeddings ⇒ NaN cosines ⇒ NaN JAQ
    const r = await calibrate({ ...base, generate: fakeGenerator(), scorer: fakeScorer(bowl, failAt), search: "grid" });
    const failed = r.landscape.filter((p) => p.failed);
    expect(failed).toHaveLength(3 * 9);
    expect(failed.every((p) => p.jaq === null && p.m >= 1.1)).toBe(true);
    expect(r.coefficients.qsched).toMatchObject({ m: 0.95, s: 0.9 });
  });

  it("reports progress in images after each candidate or extension", async () => {
    const seen: Array<[number, number, number]> = [];
    const r = await calibrate({ ...base, generate: fakeGenerator(), scorer: fakeScorer(bowl), onProgress: (p) => seen.push([p.done, p.planned, p.generated]) });
    expect(seen.at(-1)![0]).toBe(r.generatedImages);
    expect(seen.every(([, planned]) => planned === 24)).toBe(true); // 10 % of 81 × 3 images
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0] - seen[i - 1]![0]).toBe(seen[i]![2]);
  });

  it("scores an extended candidate's JAQ over all its prompts, as a whole-set evaluation would", async () => {
    // On the 0.05 lattice every fast candidate is a grid point, so the two runs score the same images.
    const fast = await calibrate({ ...base, generate: fakeGenerator(), scorer: fakeScorer(bowl), resolution: 0.05 });
    const grid = await calibrate({ ...base, generate: fakeGenerator(), scorer: fakeScorer(bowl), search: "grid" });
    const full = fast.landscape.filter((x) => x.prompts === 3);
    expect(full.length).toBeGreaterThan(0);
    for (const p of full) {
      const g = grid.landscape.find((x) => Math.abs(x.m - p.m) < 1e-9 && Math.abs(x.s - p.s) < 1e-9)!;
      expect(p.jaq).toBeCloseTo(g.jaq!, 12);
    }
  });

  it("refuses a budget below the search's minimum before generating or opening a journal", async () => {
    const calls = { count: 0 };
    const store = new MemoryJournalStore();
    await expect(calibrate({ ...base, budget: 4, journal: store, generate: fakeGenerator(calls), scorer: fakeScorer(bowl) })).rejects.toThrow(
      /fast search needs a budget of at least 8 generations \(6 candidates screened on 1 of 3 prompts, plus 1 finalist on the other 2\), found 4/,
    );
    expect(calls.count).toBe(0);
    expect(store.text).toBeUndefined();
  });

  it("refuses an empty prompt set, mismatched seeds and unknown option keys", async () => {
    await expect(calibrate({ ...base, prompts: [], generate: fakeGenerator(), scorer: fakeScorer(bowl) })).rejects.toThrow(/prompt set is empty/);
    await expect(calibrate({ ...base, seeds: [1, 2], generate: fakeGenerator(), scorer: fakeScorer(bowl) })).rejects.toThrow(/2 seeds for 3 prompts/);
    // A typo would otherwise run the default search without a word.
    const calls = { count: 0 };
    await expect(calibrate({ ...base, serach: "grid", generate: fakeGenerator(calls), scorer: fakeScorer(bowl) } as never)).rejects.toThrow(/calibrate: unknown option "serach"; options: model, scheme, steps/);
    await expect(calibrate({ ...base, grid_n: 3, generate: fakeGenerator(calls), scorer: fakeScorer(bowl) } as never)).rejects.toThrow(/unknown option "grid_n" \(did you mean "gridN"\?\)/);
    expect(calls.count).toBe(0);
  });

  it("passes prompt k with seed k to the generator (common random numbers across candidates)", async () => {
    const pairs = new Set<string>();
    const gen = fakeGenerator();
    await calibrate({ ...base, generate: (m, s, p, seed) => (pairs.add(`${p}|${seed}`), gen(m, s, p, seed)), scorer: fakeScorer(bowl) });
    expect([...pairs].sort()).toEqual(PROMPTS.map((p, i) => `${p}|${100 + i}`).sort());
  });

  it("scores candidates on prompts in racingOrder: the screening prefix spreads over the list, each prompt keeps its seed", async () => {
    const prompts = DEFAULT_CALIBRATION_PROMPTS.slice(0, 8);
    const first: string[] = [];
    const gen = fakeGenerator();
    await calibrate({ ...base, prompts, generate: (m, s, p, seed) => (first.length < 2 && first.push(`${p}|${seed}`), gen(m, s, p, seed)), scorer: fakeScorer(bowl) });
    // The fast search screens on the first 2 of 8: positions 0 and 4 of the given list, not 0 and 1.
    expect(first).toEqual([`${prompts[0]}|100`, `${prompts[4]}|104`]);
  });
});

describe("prompts", () => {
  it("has about 25 distinct built-in captions in the toy model's vocabulary", () => {
    expect(DEFAULT_CALIBRATION_PROMPTS.length).toBe(25);
    expect(new Set(DEFAULT_CALIBRATION_PROMPTS).size).toBe(25);
    const vocab = new Set(
      "a an and on the at in of two three small large background center top bottom left right red green blue yellow white black orange purple circle circles square squares triangle triangles star stars ring rings".split(" "),
    );
    for (const p of DEFAULT_CALIBRATION_PROMPTS) for (const w of p.split(" ")) expect(vocab.has(w), `"${w}" in "${p}"`).toBe(true);
  });

  it("parses one prompt per line, ignoring blank lines, and refuses an empty file", () => {
    expect(parsePromptFile("a red circle\r\n\n  two blue squares  \n")).toEqual(["a red circle", "two blue squares"]);
    expect(() => parsePromptFile(" \n\n", "p.txt")).toThrow(/p.txt: no prompts found/);
    expect(defaultSeeds(3)).toEqual([100, 101, 102]);
  });

  it("racingOrder is a permutation whose every prefix is spread over the list", () => {
    expect(racingOrder(8)).toEqual([0, 4, 2, 6, 1, 5, 3, 7]);
    for (const n of [1, 2, 3, 5, 7, 8, 25, 100]) {
      const o = racingOrder(n);
      expect([...o].sort((a, b) => a - b), `n = ${n}`).toEqual(Array.from({ length: n }, (_, i) => i));
      // Each of the first k positions falls in a different k-th of the list, up to rounding (at most 2 per k-th).
      for (const k of [2, 4, 8].filter((k) => k <= n)) {
        const bins = new Map<number, number>();
        for (const i of o.slice(0, k)) bins.set(Math.floor((i * k) / n), (bins.get(Math.floor((i * k) / n)) ?? 0) + 1);
        expect(Math.max(...bins.values()), `n = ${n}, first ${k}`).toBeLessThanOrEqual(2);
      }
    }
  });
});

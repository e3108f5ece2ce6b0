import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BudgetError, fastDefaultBudget, fastMinBudget, fastPlan, fastSearch, FAST_DEFAULT_BUDGET, FAST_MIN_BUDGET, FAST_TUNING, gridSearch } from "../../src/calibration/search/index.ts";

/** Synthetic landscapes with known optima, values scaled like JAQ (peak 5.7). */
const bowl = (m0: number, s0: number) => async (m: number, s: number) => 5.7 - 8 * ((m - m0) ** 2 + (s - s0) ** 2);
const corner = async (m: number, s: number) => 5.7 - 1.5 * (m - 0.8) - 1.5 * (s - 0.8);

describe("grid search", () => {
  it("evaluates all n² points in m-major order and returns the exact optimum when it lies on the grid", async () => {
    const r = await gridSearch(bowl(0.95, 0.9));
    expect(r.evaluations).toHaveLength(81);
    expect(r.evaluations[0]).toMatchObject({ m: 0.8, s: 0.8 });
    expect(r.evaluations[1]).toMatchObject({ m: 0.8, s: 0.85 });
    expect(r.evaluations[80]).toMatchObject({ m: 1.2, s: 1.2 });
    expect(r.best.m).toBeCloseTo(0.95, 12);
    expect(r.best.s).toBeCloseTo(0.9, 12);
    expect(r.best.score).toBeCloseTo(5.7, 12);
  });

  it("honours n and the box", async () => {
    const r = await gridSearch(corner, { n: 3, box: { mMin: 0.9, mMax: 1.1, sMin: 0.7, sMax: 1.3 } });
    expect(r.evaluations.map((e) => [e.m, e.s])).toEqual([
      [0.9, 0.7], [0.9, 1], [0.9, 1.3], [1, 0.7], [1, 1], [1, 1.3], [1.1, 0.7], [1.1, 1], [1.1, 1.3],
    ].map(([m, s]) => [expect.closeTo(m!, 12), expect.closeTo(s!, 12)]));
    expect(r.best).toMatchObject({ m: 0.9, s: 0.7 });
  });

  it("refuses a budget below n² and names both numbers", async () => {
    await expect(gridSearch(corner, { budget: 80 })).rejects.toThrow(/grid search needs a budget of at least 81 generations \(9×9 points × 1 prompt\), found 80/);
    await expect(gridSearch(corner, { budget: 80 })).rejects.toBeInstanceOf(BudgetError);
  });
});

describe("fast search", () => {
  // Bound: 0.5 % of the peak (0.029 JAQ). On a noise-free bowl the surrogate is exact after six points, so the
  // only loss is the 0.01 lattice plus the trust-region cap; the benchmark measures < 0.2 % on these shapes.
  const BOUND = 0.005 * 5.7;

  for (const [m0, s0] of [[0.93, 0.88], [1.07, 0.95], [1.15, 1.12], [0.84, 1.05]] as const) {
    it(`finds a noise-free bowl's top at (${m0}, ${s0}) within ${BOUND.toFixed(3)} using ≤ ${FAST_DEFAULT_BUDGET} evaluations`, async () => {
      const r = await fastSearch(bowl(m0, s0));
      expect(r.evaluations.length).toBeLessThanOrEqual(FAST_DEFAULT_BUDGET);
      expect(5.7 - r.best.score).toBeLessThanOrEqual(BOUND);
      expect(Math.hypot(r.best.m - m0, r.best.s - s0)).toBeLessThan(0.07); // 0.029 JAQ on this bowl ⇒ distance ≤ 0.06
    });
  }

  it("reaches an optimum at the box corner", async () => {
    const r = await fastSearch(corner);
    expect(5.7 - r.best.score).toBeLessThanOrEqual(BOUND);
  });

  it("puts every candidate on the resolution lattice inside the box and never evaluates a point twice", async () => {
    const box = { mMin: 0.9, mMax: 1.3, sMin: 0.85, sMax: 1.05 };
    const r = await fastSearch(bowl(1.2, 0.9), { box, resolution: 0.05, budget: 10 });
    const keys = r.evaluations.map((e) => `${e.m},${e.s}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const e of r.evaluations) {
      expect(e.m).toBeGreaterThanOrEqual(box.mMin);
      expect(e.m).toBeLessThanOrEqual(box.mMax);
      expect(e.s).toBeGreaterThanOrEqual(box.sMin);
      expect(e.s).toBeLessThanOrEqual(box.sMax);
      expect(Math.abs((e.m - box.mMin) / 0.05 - Math.round((e.m - box.mMin) / 0.05))).toBeLessThan(1e-9);
      expect(Math.abs((e.s - box.sMin) / 0.05 - Math.round((e.s - box.sMin) / 0.05))).toBeLessThan(1e-9);
    }
  });

  it(`refuses a budget below its minimum of ${FAST_MIN_BUDGET} before evaluating anything`, async () => {
    let calls = 0;
    const counted = async (m: number, s: number) => {
      calls++;
      return corner(m, s);
    };
    await expect(fastSearch(counted, { budget: FAST_MIN_BUDGET - 1 })).rejects.toThrow(
      new RegExp(`fast search needs a budget of at least ${FAST_MIN_BUDGET} generations \\(6 candidates on 1 prompt\\), found ${FAST_MIN_BUDGET - 1}`),
    );
    expect(calls).toBe(0);
  });

  it("spends exactly the budget it is given", async () => {
    for (const budget of [6, 8, 12]) expect((await fastSearch(bowl(1, 1), { budget })).evaluations).toHaveLength(budget);
  });
});

describe("fast search over prompts (racing)", () => {
  const P = 8;
  /** Prompt p adds a fixed offset (common to all candidates, like a fixed seed) to a bowl; JAQ over n = the mean. */
  const offsets = [0.4, -0.3, 0.1, -0.5, 0.2, 0.0, -0.1, 0.3];
  const prompted = (m0: number, s0: number, calls: Array<[number, number, number]> = []) => async (m: number, s: number, n: number) => {
    calls.push([m, s, n]);
    const mean = offsets.slice(0, n).reduce((a, b) => a + b, 0) / n;
    return 5.7 - 8 * ((m - m0) ** 2 + (s - s0) ** 2) + mean;
  };

  it("spends at most the budget in generations (images), screening on fewer prompts than it finishes on", async () => {
    for (const budget of [fastMinBudget(P).generations, 30, fastDefaultBudget(P), 100]) {
      const calls: Array<[number, number, number]> = [];
      const r = await fastSearch(prompted(1.05, 0.92, calls), { prompts: P, budget });
      // Each call asks for the first n prompts; generations = prompts added to a candidate since its last call.
      const have = new Map<string, number>();
      let generated = 0;
      for (const [m, s, n] of calls) {
        const k = `${m},${s}`;
        generated += n - (have.get(k) ?? 0);
        have.set(k, n);
      }
      expect(generated).toBe(r.generations);
      expect(r.generations).toBeLessThanOrEqual(budget);
      expect(Math.min(...calls.map((c) => c[2]))).toBeLessThan(P);
      const chosen = r.evaluations.find((e) => e.m === r.best.m && e.s === r.best.s)!;
      expect(chosen.prompts).toBe(P); // the answer is measured on every prompt
    }
  });

  it(`defaults to 10 % of the 9×9 grid's generations: ${fastDefaultBudget(P)} for ${P} prompts, ${FAST_DEFAULT_BUDGET} for indivisible evaluations`, async () => {
    expect(fastDefaultBudget(P)).toBe(64);
    expect(FAST_DEFAULT_BUDGET).toBe(8);
    const r = await fastSearch(prompted(0.93, 0.88), { prompts: P });
    expect(r.generations).toBeLessThanOrEqual(64);
    expect(5.7 + offsets.reduce((a, b) => a + b, 0) / P - r.best.score).toBeLessThan(0.005 * 5.7);
  });

  it("with the default budget, extends the best screened candidates to half the prompts before choosing finalists among them (successive halving)", async () => {
    const plan = fastPlan(P, fastDefaultBudget(P), 41 * 41, FAST_TUNING);
    expect(plan).toMatchObject({ screenPrompts: 2, midPrompts: 4 });
    expect(plan.promoted).toBeGreaterThan(plan.finalists);
    // Every planned image is affordable: screening, promotion, then the rest of the prompts for each finalist.
    expect(plan.screened * 2 + plan.promoted * 2 + plan.finalists * 4).toBeLessThanOrEqual(fastDefaultBudget(P));
    const r = await fastSearch(prompted(0.95, 1.05), { prompts: P });
    const mid = r.evaluations.filter((e) => e.levels.some((l) => l.prompts === 4));
    const full = r.evaluations.filter((e) => e.prompts === P);
    expect(mid).toHaveLength(plan.promoted);
    expect(full).toHaveLength(plan.finalists);
    // Finalists come from the middle level and are the best there.
    const midScore = (e: (typeof mid)[number]) => e.levels.find((l) => l.prompts === 4)!.score;
    const worstFinalist = Math.min(...full.map(midScore));
    for (const e of full) expect(e.levels.map((l) => l.prompts)).toEqual([2, 4, P]);
    for (const e of mid.filter((x) => !full.includes(x))) expect(midScore(e)).toBeLessThanOrEqual(worstFinalist);
  });

  it("has no middle level when the budget only pays for screening and one finalist", () => {
    expect(fastPlan(P, fastMinBudget(P).generations, 41 * 41, FAST_TUNING)).toMatchObject({ promoted: 0, finalists: 1, screened: 6 });
    expect(fastPlan(2, 7, 41 * 41, FAST_TUNING)).toMatchObject({ promoted: 0, screenPrompts: 1, finalists: 1, screened: 6 });
  });

  it("refuses a budget below the minimum in generations, naming it and the split, before generating anything", async () => {
    const calls: Array<[number, number, number]> = [];
    const min = fastMinBudget(P);
    expect(min.generations).toBe(6 * 2 + 6);
    await expect(fastSearch(prompted(1, 1, calls), { prompts: P, budget: min.generations - 1 })).rejects.toThrow(
      new RegExp(`fast search needs a budget of at least 18 generations \\(6 candidates screened on 2 of 8 prompts, plus 1 finalist on the other 6\\), found 17`),
    );
    await expect(fastSearch(prompted(1, 1, calls), { prompts: P, budget: 17 })).rejects.toBeInstanceOf(BudgetError);
    expect(calls).toHaveLength(0);
  });

  it("is deterministic: the same objective gives the same calls and answer", async () => {
    const a: Array<[number, number, number]> = [];
    const b: Array<[number, number, number]> = [];
    const ra = await fastSearch(prompted(0.9, 1.1, a), { prompts: P });
    const rb = await fastSearch(prompted(0.9, 1.1, b), { prompts: P });
    expect(a).toEqual(b);
    expect(ra.best).toEqual(rb.best);
  });

  it("finds the higher, narrower of two bumps that a local method misses", async () => {
    const gauss = (m: number, s: number, m0: number, s0: number, w: number) => Math.exp(-((m - m0) ** 2 + (s - s0) ** 2) / (2 * w * w));
    const twoBumps = async (m: number, s: number) => 4.8 + 0.9 * gauss(m, s, 0.88, 1.1, 0.08) + 0.7 * gauss(m, s, 1.1, 0.9, 0.12);
    const r = await fastSearch(twoBumps, { prompts: P });
    expect(Math.hypot(r.best.m - 0.88, r.best.s - 1.1)).toBeLessThan(0.05);
  });
});

describe("failed candidates", () => {
  // NaN where s > 1.1 (e.g. images that decoded to NaN): those points are marked failed and the search goes on.
  const holey = (inner: (m: number, s: number) => Promise<number>) => async (m: number, s: number) => (s > 1.1 ? Number.NaN : inner(m, s));

  it("grid search marks them failed and picks the best finite point", async () => {
    const r = await gridSearch(holey(bowl(1, 1.15)));
    expect(r.evaluations.filter((e) => e.failed)).toHaveLength(2 * 9);
    expect(r.evaluations.every((e) => e.failed === !Number.isFinite(e.score))).toBe(true);
    expect(r.best.s).toBeCloseTo(1.1, 12);
    expect(Number.isFinite(r.best.score)).toBe(true);
  });

  it("fast search leaves them out of the surrogate and still returns a finite best", async () => {
    const r = await fastSearch(holey(bowl(0.9, 1.15)));
    expect(r.evaluations).toHaveLength(FAST_DEFAULT_BUDGET);
    expect(r.evaluations.some((e) => e.failed)).toBe(true);
    expect(Number.isFinite(r.best.score)).toBe(true);
    expect(r.best.s).toBeLessThanOrEqual(1.1);
  });

  it("throws when every candidate failed", async () => {
    await expect(fastSearch(async () => Number.POSITIVE_INFINITY)).rejects.toThrow(/no candidate was scored successfully on all 1 prompts \(8 candidates, 8 failed\)/);
  });
});

describe("recorded toy landscapes (test/fixtures/landscapes)", () => {
  const folder = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "landscapes");
  for (const name of readdirSync(folder).filter((f) => f.endsWith(".json"))) {
    it(`grid search over ${name} by lookup reproduces the file's recorded best point`, async () => {
      const f = JSON.parse(readFileSync(join(folder, name), "utf8")) as { axes: { m: number[]; s: number[] }; jaq: number[][]; best: { m: number; s: number; jaq: number } };
      const lookup = async (m: number, s: number) => f.jaq[f.axes.m.findIndex((x) => Math.abs(x - m) < 1e-9)]![f.axes.s.findIndex((x) => Math.abs(x - s) < 1e-9)]!;
      const r = await gridSearch(lookup);
      expect(r.best.m).toBeCloseTo(f.best.m, 9);
      expect(r.best.s).toBeCloseTo(f.best.s, 9);
      expect(r.best.score).toBeCloseTo(f.best.jaq, 5); // the table stores 6 decimals, `best` full precision
      const fast = await fastSearch(lookup, { resolution: 0.05 });
      expect(fast.evaluations.length).toBeLessThanOrEqual(FAST_DEFAULT_BUDGET);
      expect(fast.evaluations.every((e) => Number.isFinite(e.score))).toBe(true); // every candidate is a recorded grid point
    });
  }
});

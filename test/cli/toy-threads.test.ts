import { afterEach, describe, expect, it } from "vitest";
import { singleThreadLavapipeForToy } from "../../src/cli/toy-threads.ts";

describe("LP_NUM_THREADS for the embedded toy (src/cli/toy-threads.ts)", () => {
  const saved = process.env.LP_NUM_THREADS;
  afterEach(() => {
    if (saved === undefined) delete process.env.LP_NUM_THREADS;
    else process.env.LP_NUM_THREADS = saved;
  });

  it("sets 0 when the user has not set it, and never overrides the user's value", () => {
    delete process.env.LP_NUM_THREADS;
    expect(singleThreadLavapipeForToy()).toBe(true);
    expect(process.env.LP_NUM_THREADS).toBe("0");
    process.env.LP_NUM_THREADS = "2";
    expect(singleThreadLavapipeForToy()).toBe(false);
    expect(process.env.LP_NUM_THREADS).toBe("2");
  });
});

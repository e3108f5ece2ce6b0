import { describe, expect, it } from "vitest";
import { testGpu } from "../helpers/gpu.ts";

const MiB = 2 ** 20;

describe("buffer pool", () => {
  it("trimUnused keeps the sizes used since the last call and frees idle ones only beyond the byte budget", async () => {
    const gpu = await testGpu();
    const pool = gpu.pool;
    pool.trim();
    pool.trimUnused(Infinity); // start a fresh period
    const cycle = (bytes: number) => pool.release(pool.acquire(bytes, "t"));
    const [base, live] = [pool.held, pool.live];
    cycle(2 * MiB); // a "call" at one size
    pool.trimUnused(Infinity); // within budget: nothing goes
    expect(pool.held - base).toBe(2 * MiB);
    cycle(3 * MiB); // the next call at another size
    pool.trimUnused(3 * MiB); // over budget: the 2 MiB class, idle this period, goes; the 3 MiB one stays
    expect(pool.held - base).toBe(3 * MiB);
    cycle(3 * MiB);
    pool.trimUnused(0); // in use this period: kept even at budget 0
    expect(pool.held - base).toBe(3 * MiB);
    pool.trimUnused(0); // idle for a whole period: freed
    expect(pool.held - base).toBe(0);
    expect(pool.live).toBe(live);
  });
});

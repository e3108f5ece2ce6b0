/**
 * The timing loop every row of the bench uses: warm-up runs, then repeated runs until at least
 * `minSeconds` of wall time have passed (and at least `minRuns`), reporting medians.
 */

/**
 * One timed repetition: wall ms, GPU ms from timestamp queries, or both. Our runs alternate: timestamp queries
 * add ~0.4 ms of wall time per call on a GPU (H200, Dawn), so wall time comes from the runs without them.
 */
export interface Sample {
  wallMs?: number;
  gpuMs?: number;
}

/**
 * A prepared case on one backend: `once(reps)` is one timed run of `reps` back-to-back calls and one sync, timed
 * per call; `dispose()` frees its inputs.
 */
export interface PreparedRun {
  once(reps?: number): Promise<Sample>;
  dispose(): void;
}

export interface Timing {
  runs: number;
  /** Median wall time per run in µs (CPU clock around the backend's own sync). */
  wallUs: number;
  /** Median GPU time per run in µs from timestamp queries, if measured. */
  gpuUs?: number;
}

export interface TimingOptions {
  warmup: number;
  minSeconds: number;
  minRuns: number;
  /** Stop early after this many runs even if minSeconds is not reached (never hit on slow cases). */
  maxRuns: number;
  /**
   * Calls per timed run, one sync at its end (`--reps=N`): on a GPU the sync's ~0.4 ms floor outweighs a 0.2 ms
   * kernel, and a model step issues hundreds of calls per sync. 1 by default.
   */
  reps?: number;
}

export const FULL_TIMING: TimingOptions = { warmup: 2, minSeconds: 1, minRuns: 3, maxRuns: 200 };
/** Two runs at least: on 2 busy cores a slow row (SwiftShader) would otherwise blow the 3-minute budget. */
export const QUICK_TIMING: TimingOptions = { warmup: 1, minSeconds: 0.3, minRuns: 2, maxRuns: 100 };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summarize(samples: Sample[]): Timing {
  const wall = samples.map((s) => s.wallMs).filter((x): x is number => x !== undefined);
  const gpu = samples.map((s) => s.gpuMs).filter((x): x is number => x !== undefined);
  return {
    runs: samples.length,
    wallUs: wall.length ? median(wall) * 1000 : NaN,
    gpuUs: gpu.length ? median(gpu) * 1000 : undefined,
  };
}

/**
 * Times several backends on one case run by run in turn (ours, tfjs, ORT, ours, …), so a change in
 * machine load over the minutes a case takes hits every backend alike — on a shared 2-core box the
 * load moves more than the kernels differ. Each gets its warm-up, then rounds continue until every
 * backend has `minRuns` and its own runs add up to `minSeconds` (or `maxRuns` rounds). A backend
 * whose run throws leaves the rotation and gets its error back; the others go on.
 */
export async function timeInterleaved(runs: PreparedRun[], opts: TimingOptions): Promise<(Timing | Error)[]> {
  const samples: Sample[][] = runs.map(() => []);
  const spent = runs.map(() => 0);
  const failed: (Error | undefined)[] = runs.map(() => undefined);
  const attempt = async (i: number, keep: boolean) => {
    if (failed[i]) return;
    try {
      const t0 = performance.now();
      const s = await runs[i]!.once(opts.reps ?? 1);
      if (keep) {
        samples[i]!.push(s);
        spent[i]! += performance.now() - t0;
      }
    } catch (e) {
      failed[i] = e instanceof Error ? e : new Error(String(e));
    }
  };
  for (let i = 0; i < runs.length; i++) for (let w = 0; w < opts.warmup; w++) await attempt(i, false);
  const live = () => runs.map((_, i) => i).filter((i) => !failed[i]);
  for (let round = 0; round < opts.maxRuns; round++) {
    if (round >= opts.minRuns && live().every((i) => spent[i]! >= opts.minSeconds * 1000)) break;
    for (const i of live()) await attempt(i, true);
  }
  return runs.map((_, i) => failed[i] ?? summarize(samples[i]!));
}

/** Runs `once` (which must include its own sync) as the options say and returns the medians. */
export async function timeRuns(once: () => Promise<Sample>, opts: TimingOptions): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) await once();
  const samples: Sample[] = [];
  const start = performance.now();
  while (samples.length < opts.maxRuns && (samples.length < opts.minRuns || performance.now() - start < opts.minSeconds * 1000)) {
    samples.push(await once());
  }
  return summarize(samples);
}

import { defineConfig } from "vitest/config";

// GPU tests share one Dawn device per worker; lavapipe is CPU-bound on 2 cores, so keep
// workers few and tests in a file sequential.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // A test's first dispatch of each pipeline compiles it (lavapipe: LLVM on the CPU). Cold, on a slower 2-core
    // machine (AMD EPYC, session 11), single kernel tests took 60–120 s and two exceeded 120 s; warm they take
    // milliseconds. The limit is there to catch hangs, so it leaves room for a cold cache on slow machines.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});

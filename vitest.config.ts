import { defineConfig } from "vitest/config";

// GPU tests share one Dawn device per worker; lavapipe is CPU-bound on 2 cores, so keep
// workers few and tests in a file sequential.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});

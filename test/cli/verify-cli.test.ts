import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, FIXTURE_GOLDEN } from "../helpers/golden.ts";

// The bundled CLI as a user runs it (npm test builds dist/ first).
const CLI = join(REPO_ROOT, "dist/cli/qsched-gpu.js");
const run = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8", cwd: REPO_ROOT });

describe("qsched-gpu verify (bundled CLI)", () => {
  it("is built", () => expect(existsSync(CLI), `${CLI} is missing: run node scripts/build.mjs`).toBe(true));
  it("runs a folder by its manifest kind and ends with N passed, M failed", () => {
    const r = run("verify", join(FIXTURE_GOLDEN, "scores"), "--quiet");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });
  it("fails (non-zero) when a bound cannot be met, and names the failing case", () => {
    // Tokenizer ids are always exact; a --tol of 0 on ops makes float cases fail where error > 0.
    const r = run("verify", join(FIXTURE_GOLDEN, "ops"), "--tol", "0", "--quiet");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL /);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, [1-9]\d* failed$/);
  });
  it("prints its help to stdout with exit 0, and refuses a second folder instead of checking only the last", () => {
    for (const args of [["--help"], ["verify", "--help"]]) {
      const h = run(...args);
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(/^usage: qsched-gpu verify/);
    }
    const two = run("verify", join(FIXTURE_GOLDEN, "rng"), join(FIXTURE_GOLDEN, "schedulers"));
    expect(two.status).toBe(2);
    expect(two.stderr).toMatch(/one folder per run/);
  });

  it("rejects a folder without manifest and bad options with clear messages", () => {
    const a = run("verify", REPO_ROOT);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/has no manifest\.json/);
    const b = run("verify", join(FIXTURE_GOLDEN, "ops"), "--tol", "abc");
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--tol expects a non-negative number/);
  });
});

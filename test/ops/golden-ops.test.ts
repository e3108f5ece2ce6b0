import { describe, expect, it } from "vitest";
import { verifyFolder, formatResult } from "../../src/verify/run.ts";
import { goldenFolders } from "../helpers/golden.ts";

// Every case of the ops oracle (shipped subset, and the full folder when present) must pass at the
// README's tolerances; an op without a GPU implementation fails as "cannot run".
describe("golden ops cases (Node, Dawn)", () => {
  for (const { label, dir } of goldenFolders("ops")) {
    it(`${label}: every case passes`, async () => {
      const report = await verifyFolder(dir);
      const failures = report.results.filter((r) => !r.ok).map(formatResult);
      expect(failures).toEqual([]);
      expect(report.passed).toBeGreaterThan(0);
    });
  }
});

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file lives in test/helpers/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The full oracle: $QSCHED_GOLDEN, else ../shared/golden beside the repo. Null when that default is absent; a
 * $QSCHED_GOLDEN that names no oracle throws, so a mistyped path cannot quietly turn the full suite off.
 */
export function fullGoldenDir(): string | null {
  const stated = process.env.QSCHED_GOLDEN;
  const dir = stated ? resolve(stated) : resolve(REPO_ROOT, "../shared/golden");
  if (existsSync(join(dir, "README.md"))) return dir;
  if (stated) throw new Error(`QSCHED_GOLDEN=${stated}: no oracle there (expected ${join(dir, "README.md")}); unset it to run the shipped subset only`);
  return null;
}

/** The compact subset shipped in the repo (always present). */
export const FIXTURE_GOLDEN = join(REPO_ROOT, "test/fixtures/golden");

/**
 * Folders to run a kind's cases from: the shipped subset always, and the full oracle when present.
 * Prints once per kind whether the full oracle ran, so a log says what was checked.
 */
export function goldenFolders(kind: string): { label: string; dir: string }[] {
  const out = [{ label: "fixtures", dir: join(FIXTURE_GOLDEN, kind) }];
  const full = fullGoldenDir();
  if (full && existsSync(join(full, kind, "manifest.json"))) {
    out.push({ label: "full-oracle", dir: join(full, kind) });
    console.log(`[golden] ${kind}: full oracle at ${join(full, kind)} RUNS`);
  } else {
    console.log(`[golden] ${kind}: full oracle NOT available (set QSCHED_GOLDEN); only the shipped subset runs`);
  }
  return out;
}

import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import "./kinds/index.ts";
import { getVerifyKind } from "./registry.ts";
import type { CaseResult, Manifest, VerifyOptions } from "./types.ts";

export interface VerifyReport {
  kind: string;
  results: CaseResult[];
  passed: number;
  failed: number;
}

/** Reads `<folder>/manifest.json` and runs every case of its kind. Errors in a case count as failures. */
export async function verifyFolder(folder: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const manifestPath = join(folder, "manifest.json");
  if (!existsSync(manifestPath)) throw new Error(`verify: ${folder} has no manifest.json`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  } catch (e) {
    throw new Error(`verify: ${manifestPath} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof manifest.kind !== "string") throw new Error(`verify: ${manifestPath} has no "kind"`);
  const kind = await getVerifyKind(manifest.kind);
  if (opts.dtype && !(kind.dtypes ?? ["f32"]).includes(opts.dtype)) {
    throw new Error(`verify: kind "${manifest.kind}" runs in ${(kind.dtypes ?? ["f32"]).join("/")} only; --dtype ${opts.dtype} applies to pipeline and taesd folders`);
  }
  const results = await kind.run(folder, manifest, opts);
  const failed = results.filter((r) => !r.ok).length;
  return { kind: manifest.kind, results, passed: results.length - failed, failed };
}

/** Formats one result line the way the CLI prints it. */
export function formatResult(r: CaseResult): string {
  const err = r.error === undefined ? "" : ` err=${r.error.toExponential(2)}`;
  return `${r.ok ? "ok  " : "FAIL"} ${r.name}${err}${r.detail ? ` (${r.detail})` : ""}`;
}

import type { Gpu } from "../../gpu/runtime.ts";
import { parseSafetensorsBytes } from "../../weights/safetensors/memory.ts";
import type { CaseResult, Manifest } from "../types.ts";
import { OPS_CASE_RUNNERS } from "./index.ts";
import type { OpsCase } from "./types.ts";

/** Runs every case of an `ops` manifest with the given reader (Node: files; browser: fetch). */
export async function runOpsCases(
  gpu: Gpu,
  manifest: Manifest,
  readCaseFile: (file: string) => Promise<Uint8Array>,
  tol: number | undefined,
  log?: (line: string) => void,
): Promise<CaseResult[]> {
  const cases = manifest.cases as OpsCase[] | undefined;
  if (!Array.isArray(cases)) throw new Error(`ops manifest has no "cases" list`);
  const results: CaseResult[] = [];
  const poison = gpu.poisonOutputs;
  gpu.poisonOutputs = true; // outputs start as NaN so an unwritten element cannot pass
  try {
    for (const c of cases) {
      const runner = OPS_CASE_RUNNERS[c.op];
      if (!runner) {
        results.push({ name: c.file, ok: false, detail: `cannot run: op "${c.op}" has no GPU implementation in this version` });
        continue;
      }
      try {
        const st = parseSafetensorsBytes(await readCaseFile(c.file), c.file);
        results.push(await runner(gpu, st, c, tol));
      } catch (e) {
        results.push({ name: c.file, ok: false, detail: `error: ${(e as Error).message}` });
      }
      log?.(`ops: ${c.op} ${c.file}`);
    }
  } finally {
    gpu.poisonOutputs = poison;
  }
  return results;
}

import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { encodeSafetensors, type TensorToWrite } from "../../src/weights/safetensors/writer.ts";

export interface ManifestCase {
  file: string;
  [key: string]: unknown;
}

export function readManifest(dir: string): { cases: ManifestCase[]; [key: string]: unknown } {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
}

/**
 * Writes a new folder of the same kind: the chosen cases (in the given order), each file renamed `case_<k>`, so a
 * verifier that passes on it reads the manifest rather than guessing from file names. `withConfigs` copies configs/.
 */
export function derivedFolder(srcDir: string, cases: ManifestCase[], opts: { withConfigs?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "qsched-derived-"));
  const manifest = readManifest(srcDir);
  const renamed = cases.map((c, k) => {
    const file = `renamed/case_${k}.safetensors`;
    mkdirSync(join(dir, "renamed"), { recursive: true });
    copyFileSync(join(srcDir, c.file), join(dir, file));
    return { ...c, file };
  });
  if (opts.withConfigs && existsSync(join(srcDir, "configs"))) cpSync(join(srcDir, "configs"), join(dir, "configs"), { recursive: true });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ kind: manifest.kind, format_version: manifest.format_version, cases: renamed }));
  return dir;
}

/** Rewrites one case file of `dir` with `edit` applied to one tensor's values (as stored, e.g. Float32Array). */
export function tamperTensor(dir: string, c: ManifestCase, tensor: string, edit: (values: Float32Array) => void): void {
  const path = join(dir, c.file);
  const t = readSafetensorsFileSync(path);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, entry] of t.entries) {
    const bytes = t.bytes(name).slice();
    if (name === tensor) edit(new Float32Array(bytes.buffer));
    tensors[name] = { dtype: entry.dtype, shape: [...entry.shape], data: bytes };
  }
  writeFileSync(path, encodeSafetensors(tensors, t.metadata));
}

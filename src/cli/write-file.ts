import { rename, rm, writeFile } from "node:fs/promises";

/**
 * Writes `data` to `path` through `<path>.partial`, renamed into place once complete, so an interrupted run never
 * leaves a half-written file under the real name (a coefficient file that `qsched: "auto"` would later read, an image).
 */
export async function writeFileWhole(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.partial`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

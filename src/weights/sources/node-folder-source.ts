import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { openNodeFileByteSource } from "../safetensors/node-byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import { checkRelativePath, type WeightSource } from "./types.ts";

/** A checkpoint in a local folder (Node). Files are opened with file handles and read lazily. */
export function nodeFolderSource(folder: string): WeightSource {
  const root = resolve(folder);
  const locate = (path: string) => join(root, checkRelativePath(path, root));
  return {
    label: root,
    locate,
    async exists(path) {
      try {
        return (await stat(locate(path))).isFile();
      } catch {
        return false;
      }
    },
    async readText(path) {
      try {
        return await readFile(locate(path), "utf8");
      } catch (e) {
        throw new WeightsLoadError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, locate(path));
      }
    },
    async open(path) {
      try {
        return await openNodeFileByteSource(locate(path));
      } catch (e) {
        throw new WeightsLoadError(`cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, locate(path));
      }
    },
  };
}

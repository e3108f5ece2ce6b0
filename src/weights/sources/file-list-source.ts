import { blobByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import { checkRelativePath, type WeightSource } from "./types.ts";

/**
 * A checkpoint picked in the browser as a folder (`<input type=file webkitdirectory>`) or dropped
 * files. Files are found by `webkitRelativePath` ("sd-turbo/unet/config.json"); when every path
 * starts with the same folder name (the folder the user picked), that first part is dropped so
 * paths match the checkpoint layout. Files without a relative path are found by name. `paths`, when given, are the
 * files' relative paths (one per file) in place of their webkitRelativePath.
 */
export function fileListSource(files: ArrayLike<File> | Iterable<File>, label = "selected files", paths?: readonly string[]): WeightSource {
  const list = Array.from(files as ArrayLike<File>);
  if (paths && paths.length !== list.length) throw new Error(`fileListSource: ${paths.length} paths for ${list.length} files`);
  // `paths` stand in for webkitRelativePath where it is lost: a File posted to a worker keeps only its name.
  const rel = list.map((f, i) => (paths?.[i] || f.webkitRelativePath || f.name).replace(/\\/g, "/"));
  const firsts = new Set(rel.map((p) => (p.includes("/") ? p.split("/")[0] : "")));
  const strip = firsts.size === 1 && !firsts.has("") && list.length > 0;
  const byPath = new Map<string, File>();
  // Several files under one path (files picked one by one have names only: every component's config.json) cannot be
  // told apart; reading one of them is an error rather than a silent pick of the last.
  const ambiguous = new Set<string>();
  list.forEach((f, i) => {
    const p = strip ? rel[i]!.slice(rel[i]!.indexOf("/") + 1) : rel[i]!;
    if (byPath.has(p)) ambiguous.add(p);
    byPath.set(p, f);
  });
  const find = (path: string): File => {
    const key = checkRelativePath(path, label);
    if (ambiguous.has(key)) throw new WeightsLoadError(`several selected files are "${path}": pick the model's folder, so their paths tell them apart`, label);
    const f = byPath.get(key);
    if (!f) {
      // A pick one level too high (the folder above the model): name the folder to pick instead.
      const deeper = [...byPath.keys()].find((p) => p.endsWith(`/${key}`));
      const hint = deeper ? `; it is at "${deeper}": pick the folder "${deeper.slice(0, -key.length - 1)}" itself` : byPath.size === 0 ? " (a folder of symbolic links, such as a Hugging Face cache snapshot, gives the browser no files: download with --local-dir)" : "";
      throw new WeightsLoadError(`no file "${path}" among the ${byPath.size} selected${hint}`, label);
    }
    return f;
  };
  return {
    label,
    locate: (path) => `${label}/${path}`,
    async exists(path) {
      return byPath.has(checkRelativePath(path, label));
    },
    async readText(path) {
      return find(path).text();
    },
    async open(path) {
      return blobByteSource(find(path), `${label}/${path}`);
    },
  };
}

import type { ByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";

/**
 * A place that holds a checkpoint's files by relative path ("unet/config.json"): a Node folder, a
 * base URL, a browser FileList. Paths always use "/" and never leave the root.
 */
export interface WeightSource {
  /** Folder path or base URL, for messages. */
  readonly label: string;
  exists(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  /** Random access to a file's bytes, without reading it whole. */
  open(path: string): Promise<ByteSource>;
  /** Where a relative path lives (full path or URL), for messages. */
  locate(path: string): string;
}

/**
 * Normalizes a relative path and refuses ones that escape the root (a hostile index could name "../x").
 * Percent-encoded dots count too: a URL parser reads "%2e%2e" as "..".
 */
export function checkRelativePath(path: string, where: string): string {
  const parts = path.replace(/\\/g, "/").split("/").filter((p) => p !== "" && p !== ".");
  const isDotSegment = (p: string) => /^(\.|%2e){1,2}$/i.test(p);
  if (parts.length === 0 || parts.some(isDotSegment) || /^[a-zA-Z]:/.test(path) || path.startsWith("/")) {
    throw new WeightsLoadError(`"${path}" is not a relative path inside the checkpoint`, where);
  }
  return parts.join("/");
}

/** Where a folder of the source lives, for messages ("" = the source's root). */
export function locateFolder(source: WeightSource, folder: string): string {
  return folder ? source.locate(folder) : source.label;
}

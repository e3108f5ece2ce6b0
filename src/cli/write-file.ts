import { openNodeFileSink } from "../weights/safetensors/node-sink.ts";

/**
 * Writes `data` to `path` through the packs' file sink (`<path>.partial`, renamed into place on close), so an
 * interrupted run never leaves a half-written file under the real name (a coefficient file that `qsched: "auto"` would
 * later read, an image).
 */
export async function writeFileWhole(path: string, data: string | Uint8Array): Promise<void> {
  const sink = await openNodeFileSink(path);
  try {
    await sink.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    await sink.close();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

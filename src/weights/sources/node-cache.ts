import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ByteSource } from "../safetensors/byte-source.ts";
import { openNodeFileByteSource } from "../safetensors/node-byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import type { WeightsCache } from "./cache.ts";
import { explainNetworkError } from "./http-byte-source.ts";

/** Where the Node cache lives unless told otherwise: $QSCHED_CACHE, else ~/.cache/qsched-gpu. */
export function defaultNodeCacheDir(): string {
  const home = process.env.HOME ?? process.env.USERPROFILE ?? ".";
  return process.env.QSCHED_CACHE ?? join(home, ".cache", "qsched-gpu");
}

/**
 * A WeightsCache in a folder: each URL becomes `<sha256(url)>.bin` plus a `.json` note holding the
 * URL and size. Downloads stream to a `.partial` file that is renamed into place when complete, so
 * a crash or abort never leaves a truncated entry that a later run would trust.
 */
export function nodeFolderCache(dir: string = defaultNodeCacheDir()): WeightsCache {
  const paths = (url: string) => {
    const key = createHash("sha256").update(url).digest("hex");
    return { bin: join(dir, `${key}.bin`), note: join(dir, `${key}.json`) };
  };
  return {
    async get(url) {
      const p = paths(url);
      try {
        const note = JSON.parse(await readFile(p.note, "utf8")) as { url: string; size: number };
        const s = await stat(p.bin);
        if (note.url !== url || s.size !== note.size) return null; // stale or foreign entry: refetch
      } catch {
        return null;
      }
      return openNodeFileByteSource(p.bin);
    },
    async put(url, body, expectedSize) {
      const p = paths(url);
      await mkdir(dir, { recursive: true });
      // A name of its own per download ("wx" refuses to share one), so two loads of the same URL at once
      // each write their own file; the last rename wins with a complete copy either way.
      const tmp = `${p.bin}.${randomUUID()}.partial`;
      const handle = await open(tmp, "wx");
      let size = 0;
      try {
        const reader = body.getReader();
        for (;;) {
          const { done, value } = await reader.read().catch((e: unknown) => {
            throw explainNetworkError(e, url, `download failed after ${size} bytes`);
          });
          if (done) break;
          let off = 0;
          while (off < value.length) {
            const { bytesWritten } = await handle.write(value, off, value.length - off, size + off);
            off += bytesWritten;
          }
          size += value.length;
        }
        await handle.close();
        if (expectedSize !== undefined && size !== expectedSize) {
          throw new WeightsLoadError(`download ended after ${size} of ${expectedSize} bytes; not cached`, url);
        }
        await rename(tmp, p.bin);
        // The note is renamed into place too: a reader (or a second download of the same URL) never sees half of it.
        const noteTmp = `${p.note}.${randomUUID()}.partial`;
        await writeFile(noteTmp, JSON.stringify({ url, size, storedAt: new Date().toISOString() }), { flag: "wx" });
        await rename(noteTmp, p.note);
      } catch (e) {
        await handle.close().catch(() => {});
        await rm(tmp, { force: true });
        throw e;
      }
      const cached: ByteSource | null = await this.get(url);
      if (!cached) throw new WeightsLoadError(`cache entry vanished right after being written in ${dir}`, url);
      return cached;
    },
  };
}

import { blobByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import type { WeightsCache } from "./cache.ts";

/**
 * A WeightsCache in the browser's Cache Storage (`caches.open(name)`). `cache.put` streams the body
 * to disk; a hit is read back as a Blob, which browsers keep on disk and slice lazily. Requires a
 * secure context (https or localhost).
 */
export function cacheStorageCache(name = "qsched-gpu-weights", storage: CacheStorage = globalThis.caches): WeightsCache {
  if (!storage) throw new WeightsLoadError("Cache Storage is not available (needs a secure context)", name);
  return {
    async get(url) {
      const cache = await storage.open(name);
      const hit = await cache.match(url);
      if (!hit) return null;
      const blob = await hit.blob();
      // An entry whose size disagrees with the size stored beside it is treated as absent (put stores none
      // when the download's size was unknown).
      if (hit.headers.has("content-length") && Number(hit.headers.get("content-length")) !== blob.size) return null;
      return blobByteSource(blob, url);
    },
    async put(url, body, expectedSize) {
      const cache = await storage.open(name);
      const headers: Record<string, string> = {};
      if (expectedSize !== undefined) headers["content-length"] = String(expectedSize);
      // Cache.put rejects when the stream errors (e.g. aborted), leaving no entry behind.
      await cache.put(url, new Response(body, { headers }));
      const hit = await this.get(url);
      if (!hit || (expectedSize !== undefined && hit.size !== expectedSize)) {
        await cache.delete(url);
        throw new WeightsLoadError(`cached copy has the wrong size (expected ${expectedSize})`, url);
      }
      return hit;
    },
  };
}

import type { ByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import { countingStream, type WeightsCache } from "./cache.ts";
import { openHttpByteSource, readBodyExactly, type HttpReadOptions } from "./http-byte-source.ts";
import { ProgressTracker, type ProgressListener } from "./progress.ts";
import { checkRelativePath, type WeightSource } from "./types.ts";

export interface UrlSourceOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /**
   * With a cache, each file is downloaded whole once (streamed into the cache, never into memory)
   * and every later read, in this or a later load, comes from the cache. Without one, tensors are
   * fetched lazily with Range requests.
   */
  cache?: WeightsCache;
  onProgress?: ProgressListener;
  /** Size of the first Range request per file (see HTTP_PROBE_BYTES). */
  probeBytes?: number;
}

/**
 * A checkpoint served over HTTP(S) at `baseUrl` ("https://host/repo/resolve/main/"), files by
 * relative path. Progress reports body bytes received, per file and overall.
 */
export function urlSource(baseUrl: string, options: UrlSourceOptions = {}): WeightSource & { progress: ProgressTracker } {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  const doFetch = options.fetch ?? fetch;
  const progress = new ProgressTracker(options.onProgress);
  const locate = (path: string) => new URL(checkRelativePath(path, base), base).toString();
  const httpOptions = (url: string): HttpReadOptions => ({
    fetch: doFetch,
    signal: options.signal,
    headers: options.headers,
    onBytes: (n) => progress.add(url, n),
    probeBytes: options.probeBytes,
  });

  /** Downloads `url` whole into the cache (or returns the cached copy). */
  const cached = async (cache: WeightsCache, url: string): Promise<ByteSource> => {
    const hit = await cache.get(url);
    if (hit) return hit;
    const res = await doFetch(url, { headers: options.headers, signal: options.signal });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new WeightsLoadError(`HTTP ${res.status} ${res.statusText}`.trim(), url);
    }
    const length = Number(res.headers.get("content-length"));
    const expected = res.headers.has("content-length") && Number.isSafeInteger(length) ? length : undefined;
    if (expected !== undefined) progress.addFile(url, expected);
    return cache.put(url, countingStream(res.body, (n) => progress.add(url, n)), expected);
  };

  return {
    label: base,
    progress,
    locate,
    async exists(path) {
      const url = locate(path);
      if (options.cache) {
        const hit = await options.cache.get(url);
        if (hit) {
          await hit.close?.();
          return true;
        }
      }
      let res = await doFetch(url, { method: "HEAD", headers: options.headers, signal: options.signal });
      if (res.status === 405 || res.status === 501) {
        // No HEAD support: ask for one byte instead.
        res = await doFetch(url, { headers: { ...options.headers, Range: "bytes=0-0" }, signal: options.signal });
        await res.body?.cancel();
      }
      if (res.ok) return true;
      if (res.status === 404 || res.status === 410) return false;
      throw new WeightsLoadError(`HTTP ${res.status} while checking whether the file exists`, url);
    },
    async readText(path) {
      const url = locate(path);
      if (options.cache) {
        const src = await cached(options.cache, url);
        try {
          return new TextDecoder().decode(await src.read(0, src.size));
        } finally {
          await src.close?.();
        }
      }
      const res = await doFetch(url, { headers: options.headers, signal: options.signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new WeightsLoadError(`HTTP ${res.status} ${res.statusText}`.trim(), url);
      }
      const length = Number(res.headers.get("content-length"));
      if (res.headers.has("content-length") && Number.isSafeInteger(length)) {
        progress.addFile(url, length);
        return new TextDecoder().decode(await readBodyExactly(res, length, url, (n) => progress.add(url, n)));
      }
      const text = await res.text();
      progress.add(url, text.length);
      return text;
    },
    async open(path) {
      const url = locate(path);
      if (options.cache) return cached(options.cache, url);
      const src = await openHttpByteSource(url, httpOptions(url));
      progress.addFile(url, src.size);
      return src;
    },
  };
}

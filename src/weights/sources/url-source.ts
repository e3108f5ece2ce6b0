import type { ByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";
import { countingStream, type WeightsCache } from "./cache.ts";
import { fetchNamingUrl, HTML_INSTEAD_OF_FILE, openHttpByteSource, servesHtmlFor, readBodyExactly, readBodyUpTo, statedBodyLength, type HttpReadOptions } from "./http-byte-source.ts";
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
  /** Least bytes per later Range request, read ahead for the next tensors (see HTTP_READ_AHEAD_BYTES; 0: none). */
  readAheadBytes?: number;
}

/** Configs, indexes and vocabularies are small; a larger "text" body is a wrong URL (an HTML page, a weights file). */
const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * A checkpoint served over HTTP(S) at `baseUrl` ("https://host/repo/resolve/main/"), files by
 * relative path. Progress reports body bytes received, per file and overall.
 */
export function urlSource(baseUrl: string, options: UrlSourceOptions = {}): WeightSource & { progress: ProgressTracker } {
  const base = absoluteBaseUrl(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  const doFetch = options.fetch ?? fetch;
  const progress = new ProgressTracker(options.onProgress);
  const locate = (path: string) => {
    const url = new URL(checkRelativePath(path, base), base).toString();
    // checkRelativePath refuses dot segments; this also catches anything else a URL parser could resolve upwards.
    if (!url.startsWith(base)) throw new WeightsLoadError(`"${path}" resolves to ${url}, outside the checkpoint`, base);
    return url;
  };
  const httpOptions = (url: string): HttpReadOptions => ({
    fetch: doFetch,
    signal: options.signal,
    headers: options.headers,
    onBytes: (n) => progress.add(url, n),
    probeBytes: options.probeBytes,
    readAheadBytes: options.readAheadBytes,
  });

  /** Downloads `url` whole into the cache (or returns the cached copy). */
  const cached = async (cache: WeightsCache, url: string): Promise<ByteSource> => {
    const hit = await cache.get(url);
    if (hit) return hit;
    const res = await fetchNamingUrl(doFetch, url, { headers: options.headers, signal: options.signal });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new WeightsLoadError(`HTTP ${res.status} ${res.statusText}`.trim(), url);
    }
    const expected = statedBodyLength(res);
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
      let res = await fetchNamingUrl(doFetch, url, { method: "HEAD", headers: options.headers, signal: options.signal });
      if (res.status === 405 || res.status === 501) {
        // No HEAD support: ask for one byte instead.
        res = await fetchNamingUrl(doFetch, url, { headers: { ...options.headers, Range: "bytes=0-0" }, signal: options.signal });
        await res.body?.cancel();
      }
      // A single-page-app host answers every unknown path with its index page (200, text/html): not the file.
      if (res.ok) return !servesHtmlFor(res, url);
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
      const res = await fetchNamingUrl(doFetch, url, { headers: options.headers, signal: options.signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new WeightsLoadError(`HTTP ${res.status} ${res.statusText}`.trim(), url);
      }
      if (servesHtmlFor(res, url)) {
        await res.body?.cancel();
        throw new WeightsLoadError(HTML_INSTEAD_OF_FILE, url);
      }
      const onBytes = (n: number) => progress.add(url, n);
      const length = statedBodyLength(res);
      if (length !== undefined) {
        progress.addFile(url, length);
        return new TextDecoder().decode(await readBodyExactly(res, length, url, onBytes));
      }
      const body = await readBodyUpTo(res, MAX_TEXT_BYTES, url, onBytes);
      if (!body) throw new WeightsLoadError(`text file longer than ${MAX_TEXT_BYTES} bytes; expected a small JSON or text file`, url);
      return new TextDecoder().decode(body);
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

/** The base URL as the URL parser writes it, so every located file's URL starts with it. */
function absoluteBaseUrl(baseUrl: string): string {
  try {
    return new URL(baseUrl).toString();
  } catch {
    throw new WeightsLoadError("not an absolute URL (expected https://host/path/)", baseUrl);
  }
}

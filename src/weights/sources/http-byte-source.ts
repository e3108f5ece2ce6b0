import { checkReadRange, memoryByteSource, type ByteSource } from "../safetensors/byte-source.ts";
import { WeightsLoadError } from "../errors.ts";

export interface HttpReadOptions {
  /** Replaces the global fetch (tests, auth wrappers). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Called with each chunk's size as body bytes arrive. */
  onBytes?: (n: number) => void;
  /** Size of the first request (default HTTP_PROBE_BYTES); tests make it small to force Range reads. */
  probeBytes?: number;
  /** Bytes fetched per Range request at least (default HTTP_READ_AHEAD_BYTES; 0: exactly what each read asks). */
  readAheadBytes?: number;
}

/**
 * The first request fetches this many bytes: enough for the length prefix and the header of every
 * checkpoint we know (SDXL UNet headers are ~200 KB, so they take one more request), and it tells us
 * the file size from Content-Range.
 */
export const HTTP_PROBE_BYTES = 256 * 1024;

/**
 * Each Range request fetches at least this much and later reads inside it come from memory. Tensors are read in file
 * order, most of them small (an SD UNet has ~700 tensors of a few KB to a few MB): one request per tensor made a load
 * cost a round trip per tensor (the 16 MB toy: 3.6 s at 0 ms, 21 s at 50 ms per request, 40 s through a redirect per
 * request). With 16 MiB windows a 1.7 GB UNet takes ~110 requests. Larger tensors still take one request each.
 */
export const HTTP_READ_AHEAD_BYTES = 16 * 1024 * 1024;

/** Parses "bytes 0-99/1234" into numbers; null when absent or malformed. */
export function parseContentRange(value: string | null): { start: number; end: number; total: number } | null {
  const m = value ? /^bytes\s+(\d+)-(\d+)\/(\d+)$/i.exec(value.trim()) : null;
  if (!m) return null;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![start, end, total].every(Number.isSafeInteger) || end < start || end >= total) return null;
  return { start, end, total };
}

/**
 * The body's length in bytes when the headers state it: Content-Length, unless the body is
 * content-encoded (fetch decodes gzip and friends, and the header then counts the compressed bytes).
 */
export function statedBodyLength(res: Response): number | undefined {
  // A cross-origin page sees Content-Length but not Content-Encoding (unless the server exposes it), so a gzip body's
  // compressed length would pass for its length: unknown instead (the body is then read to its end).
  if (res.type === "cors") return undefined;
  const encoding = res.headers.get("content-encoding");
  if (encoding && encoding.trim().toLowerCase() !== "identity") return undefined;
  if (!res.headers.has("content-length")) return undefined;
  const length = Number(res.headers.get("content-length"));
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Content-Length as a progress total: exact where statedBodyLength knows it, else the server's (maybe compressed) count. */
export function advertisedBodyLength(res: Response): number | undefined {
  const exact = statedBodyLength(res);
  if (exact !== undefined) return exact;
  const length = Number(res.headers.get("content-length") ?? NaN);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** In a browser, whether `url` is on another origin than the page (or worker) making the request. */
function crossOrigin(url: string): boolean {
  // Pages and workers have a location; Node has none (and no CORS).
  const here = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!here) return false;
  try {
    return new URL(url).origin !== here;
  } catch {
    return false;
  }
}

export const HTML_INSTEAD_OF_FILE =
  "the server sent an HTML page, not the file (a missing file behind a single-page-app fallback, or a page URL such as the Hub's .../tree/main/ where .../resolve/main/ serves the files)";

/** A checkpoint has no HTML files: an HTML answer for one of its paths is a web page standing in for a missing file. */
export function servesHtmlFor(res: Response, url: string): boolean {
  return /^\s*text\/html/i.test(res.headers.get("content-type") ?? "") && !/\.html?$/i.test(new URL(url).pathname);
}

/** Why a browser may see a cross-origin response without a header the server sent: CORS hides it unless exposed. */
function hiddenHeaderHint(res: Response, header: string): string {
  return res.type === "cors"
    ? ` (a cross-origin server must list it in Access-Control-Expose-Headers, e.g. "Access-Control-Expose-Headers: Content-Range, ETag, Content-Encoding"; else the page cannot read ${header})`
    : "";
}

/** fetch, with a network failure (not an abort) turned into an error that names the URL. */
export async function fetchNamingUrl(doFetch: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await doFetch(url, init);
  } catch (e) {
    throw explainNetworkError(e, url, "request failed", init.signal);
  }
}

/** Aborts pass through unchanged (callers test for them); anything else names the URL and keeps the cause. */
export function explainNetworkError(e: unknown, where: string, what: string, signal?: AbortSignal | null): unknown {
  if (signal?.aborted || (e instanceof Error && e.name === "AbortError") || e instanceof WeightsLoadError) return e;
  // A browser says only "Failed to fetch" when CORS blocks a response; name the likely cause.
  const cors = e instanceof TypeError && crossOrigin(where) ? " (from another origin: the server must allow this page with Access-Control-Allow-Origin, or it is unreachable)" : "";
  return new WeightsLoadError(`${what}: ${e instanceof Error ? e.message : String(e)}${cors}`, where, { cause: e });
}

/** The next chunk of a body, with a dropped connection named as such. */
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, where: string, got: number) {
  try {
    return await reader.read();
  } catch (e) {
    throw explainNetworkError(e, where, `connection lost after ${got} bytes of the body`);
  }
}

/**
 * Reads a body of unstated length (chunked, or content-encoded) whole, refusing more than `cap` bytes;
 * null when it is longer (the stream is cancelled).
 */
export async function readBodyUpTo(res: Response, cap: number, where: string, onBytes?: (n: number) => void): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await readChunk(reader, where, got);
    if (done) break;
    if (got + value.length > cap) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
    got += value.length;
    onBytes?.(value.length);
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Reads a response body into exactly `length` bytes, reporting chunks as they arrive. More or fewer
 * bytes than promised is an error naming both numbers (a truncated transfer or a lying server).
 */
export async function readBodyExactly(
  res: Response,
  length: number,
  where: string,
  onBytes?: (n: number) => void,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const out = into ? into.subarray(0, length) : new Uint8Array(length);
  if (!res.body) {
    if (length === 0) return out;
    throw new WeightsLoadError(`response has no body, expected ${length} bytes`, where);
  }
  const reader = res.body.getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await readChunk(reader, where, got);
    if (done) break;
    if (got + value.length > length) {
      await reader.cancel();
      throw new WeightsLoadError(`response body is longer than the ${length} bytes asked for`, where);
    }
    out.set(value, got);
    got += value.length;
    onBytes?.(value.length);
  }
  if (got !== length) throw new WeightsLoadError(`response body ended after ${got} of ${length} bytes`, where);
  return out;
}

/**
 * A ByteSource over an HTTP(S) URL using Range requests, so only the header and the tensors asked
 * for travel. The first bytes (see HTTP_PROBE_BYTES) are kept, so the header costs no extra request.
 * A server that ignores Range is refused unless the whole file fit in that first response.
 */
export async function openHttpByteSource(url: string, options: HttpReadOptions = {}): Promise<ByteSource> {
  const doFetch = options.fetch ?? fetch;
  const get = (range: string) => fetchNamingUrl(doFetch, url, { headers: { ...options.headers, Range: range }, signal: options.signal });
  const probe = options.probeBytes ?? HTTP_PROBE_BYTES;
  const res = await get(`bytes=0-${probe - 1}`);
  let size: number;
  let prefix: Uint8Array;
  // Later reads must come from the same file: a checkpoint updated on the server between the header and
  // a tensor would otherwise give that tensor bytes from another layout.
  // (Compared without a weak "W/" prefix, which a proxy may add or drop for the same bytes.)
  const entityTag = (r: Response) => r.headers.get("etag")?.replace(/^W\//, "") ?? null;
  const etag = entityTag(res);
  if (res.ok && servesHtmlFor(res, url)) {
    await res.body?.cancel();
    throw new WeightsLoadError(HTML_INSTEAD_OF_FILE, url);
  }
  if (res.status === 206) {
    const cr = parseContentRange(res.headers.get("content-range"));
    if (!cr || cr.start !== 0) {
      await res.body?.cancel();
      const hint = res.headers.has("content-range") ? "" : hiddenHeaderHint(res, "Content-Range");
      throw new WeightsLoadError(`206 response with unusable Content-Range ${JSON.stringify(res.headers.get("content-range"))}${hint}`, url);
    }
    size = cr.total;
    prefix = await readBodyExactly(res, cr.end + 1, url, options.onBytes);
  } else if (res.status === 416) {
    // Not satisfiable from byte 0: the file is empty, if the server says so ("bytes */0", or nothing).
    await res.body?.cancel();
    const total = /^bytes\s+\*\/(\d+)$/i.exec(res.headers.get("content-range")?.trim() ?? "")?.[1];
    if (total !== undefined && Number(total) > 0) throw new WeightsLoadError(`HTTP 416 for bytes 0-${probe - 1} of a ${total}-byte file (the server refuses Range requests it should satisfy)`, url);
    return memoryByteSource(new Uint8Array(0), url);
  } else if (res.status === 200) {
    // The server sent the whole file: fine when it is small (it fits in the probe), else refused.
    const ignoredRange = () =>
      new WeightsLoadError(
        `server ignored the Range request (status 200, Content-Length ${res.headers.get("content-length")}); ` +
          `lazy loading needs Range support; or load through a cache, which downloads whole files: ` +
          `fromPretrained(urlSource(url, { cache: cacheStorageCache() }))`,
        url,
      );
    const length = statedBodyLength(res);
    if (length !== undefined && length > probe) {
      await res.body?.cancel();
      throw ignoredRange();
    }
    const whole = length !== undefined ? await readBodyExactly(res, length, url, options.onBytes) : await readBodyUpTo(res, probe, url, options.onBytes);
    if (!whole) throw ignoredRange();
    return memoryByteSource(whole, url);
  } else {
    await res.body?.cancel();
    throw new WeightsLoadError(`HTTP ${res.status} ${res.statusText}`.trim(), url);
  }
  const readAhead = options.readAheadBytes ?? HTTP_READ_AHEAD_BYTES;
  // The last read-ahead window: bytes [start, start + bytes.length) of the file.
  let window: { start: number; bytes: Uint8Array } | null = null;
  const readInto = async (offset: number, out: Uint8Array): Promise<void> => {
    const length = out.length;
    checkReadRange(offset, length, size, url);
    if (length === 0) return; // "bytes=a-(a-1)" is not a range a server can satisfy
    if (offset + length <= prefix.length) {
      out.set(prefix.subarray(offset, offset + length));
      return;
    }
    // Serve the parts inside the kept prefix or the last window from memory and fetch only the rest.
    let from = offset;
    if (offset < prefix.length) {
      out.set(prefix.subarray(offset), 0);
      from = prefix.length;
    }
    if (window && from >= window.start && from < window.start + window.bytes.length) {
      const inWindow = Math.min(offset + length, window.start + window.bytes.length) - from;
      out.set(window.bytes.subarray(from - window.start, from - window.start + inWindow), from - offset);
      from += inWindow;
      if (from === offset + length) return;
    }
    const want = offset + length - from;
    const fetchLength = Math.min(Math.max(want, readAhead), size - from);
    if (fetchLength > want) {
      window = { start: from, bytes: await fetchRange(from, fetchLength) };
      out.set(window.bytes.subarray(0, want), from - offset);
      return;
    }
    await fetchRange(from, want, out.subarray(from - offset));
  };
  /** Bytes [from, from + want) of the file by one Range request, checked against the first response. */
  const fetchRange = async (from: number, want: number, into?: Uint8Array): Promise<Uint8Array> => {
    const r = await get(`bytes=${from}-${from + want - 1}`);
    if (r.status !== 206) {
      await r.body?.cancel();
      throw new WeightsLoadError(`range ${from}-${from + want - 1}: expected status 206, got ${r.status}`, url);
    }
    const cr = parseContentRange(r.headers.get("content-range"));
    if (!cr || cr.start !== from || cr.end !== from + want - 1) {
      await r.body?.cancel();
      const hint = r.headers.has("content-range") ? "" : hiddenHeaderHint(r, "Content-Range");
      throw new WeightsLoadError(`range ${from}-${from + want - 1}: server answered Content-Range ${JSON.stringify(r.headers.get("content-range"))}${hint}`, url);
    }
    const nowTag = entityTag(r);
    if (cr.total !== size || (etag !== null && nowTag !== null && nowTag !== etag)) {
      await r.body?.cancel();
      const what = cr.total !== size ? `its size is now ${cr.total} bytes, was ${size}` : `its ETag is now ${nowTag}, was ${etag}`;
      throw new WeightsLoadError(`the file changed on the server since its header was read (${what}); load it again`, url);
    }
    return readBodyExactly(r, want, url, options.onBytes, into);
  };
  return {
    size,
    async read(offset, length) {
      checkReadRange(offset, length, size, url);
      if (offset + length <= prefix.length) return prefix.subarray(offset, offset + length);
      const out = new Uint8Array(length);
      await readInto(offset, out);
      return out;
    },
    readInto,
  };
}

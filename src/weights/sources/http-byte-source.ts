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
}

/**
 * The first request fetches this many bytes: enough for the length prefix and the header of every
 * checkpoint we know (SDXL UNet headers are ~200 KB, so they take one more request), and it tells us
 * the file size from Content-Range.
 */
export const HTTP_PROBE_BYTES = 256 * 1024;

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
  const encoding = res.headers.get("content-encoding");
  if (encoding && encoding.trim().toLowerCase() !== "identity") return undefined;
  if (!res.headers.has("content-length")) return undefined;
  const length = Number(res.headers.get("content-length"));
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
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
  return new WeightsLoadError(`${what}: ${e instanceof Error ? e.message : String(e)}`, where, { cause: e });
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
  if (res.status === 206) {
    const cr = parseContentRange(res.headers.get("content-range"));
    if (!cr || cr.start !== 0) {
      await res.body?.cancel();
      throw new WeightsLoadError(`206 response with unusable Content-Range ${JSON.stringify(res.headers.get("content-range"))}`, url);
    }
    size = cr.total;
    prefix = await readBodyExactly(res, cr.end + 1, url, options.onBytes);
  } else if (res.status === 416) {
    // Not satisfiable from byte 0: the file is empty.
    await res.body?.cancel();
    return memoryByteSource(new Uint8Array(0), url);
  } else if (res.status === 200) {
    // The server sent the whole file: fine when it is small (it fits in the probe), else refused.
    const ignoredRange = () =>
      new WeightsLoadError(
        `server ignored the Range request (status 200, Content-Length ${res.headers.get("content-length")}); ` +
          `lazy loading needs Range support (or use a cache, which downloads whole files)`,
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
  const readInto = async (offset: number, out: Uint8Array): Promise<void> => {
    const length = out.length;
    checkReadRange(offset, length, size, url);
    if (length === 0) return; // "bytes=a-(a-1)" is not a range a server can satisfy
    if (offset + length <= prefix.length) {
      out.set(prefix.subarray(offset, offset + length));
      return;
    }
    // Serve the part inside the kept prefix from memory and fetch only the rest.
    let from = offset;
    if (offset < prefix.length) {
      out.set(prefix.subarray(offset), 0);
      from = prefix.length;
    }
    const want = offset + length - from;
    const r = await get(`bytes=${from}-${from + want - 1}`);
    if (r.status !== 206) {
      await r.body?.cancel();
      throw new WeightsLoadError(`range ${from}-${from + want - 1}: expected status 206, got ${r.status}`, url);
    }
    const cr = parseContentRange(r.headers.get("content-range"));
    if (!cr || cr.start !== from || cr.end !== from + want - 1) {
      await r.body?.cancel();
      throw new WeightsLoadError(`range ${from}-${from + want - 1}: server answered Content-Range ${JSON.stringify(r.headers.get("content-range"))}`, url);
    }
    const nowTag = entityTag(r);
    if (cr.total !== size || (etag !== null && nowTag !== null && nowTag !== etag)) {
      await r.body?.cancel();
      const what = cr.total !== size ? `its size is now ${cr.total} bytes, was ${size}` : `its ETag is now ${nowTag}, was ${etag}`;
      throw new WeightsLoadError(`the file changed on the server since its header was read (${what}); load it again`, url);
    }
    await readBodyExactly(r, want, url, options.onBytes, out.subarray(from - offset));
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

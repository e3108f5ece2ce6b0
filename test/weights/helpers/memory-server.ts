import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

/** How the server misbehaves (or not): what real servers and proxies do that the loader must survive. */
export interface ServerMode {
  /** Honour single byte ranges (206 + Content-Range); otherwise always 200 with the whole file. */
  range: boolean;
  /** Send Content-Length (false: a chunked body of unstated length). */
  contentLength: boolean;
  /** gzip the body and say so (Content-Encoding: gzip, Content-Length of the compressed bytes). */
  gzip: boolean;
  /** Cut the connection after this many body bytes. */
  truncateTo?: number;
  /** Answer unknown paths with a 200 HTML page, as single-page-app hosts do, instead of 404. */
  htmlFallback?: boolean;
}

export interface MemoryServer {
  /** Base URL ending in "/". */
  url: string;
  /** Path (no leading "/") → bytes served; may be replaced between requests (a file updated on the server). */
  files: Map<string, Uint8Array>;
  mode: ServerMode;
  /** "METHOD /path range" per request. */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 over files held in memory, for the loader's edge cases. */
export async function startMemoryServer(files: Record<string, Uint8Array> = {}): Promise<MemoryServer> {
  const state: Omit<MemoryServer, "url" | "close"> = {
    files: new Map(Object.entries(files)),
    mode: { range: true, contentLength: true, gzip: false },
    requests: [],
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\//, "");
    state.requests.push(`${req.method} /${path} ${req.headers.range ?? ""}`.trim());
    const file = state.files.get(path);
    if (!file) {
      if (state.mode.htmlFallback) res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<!doctype html><title>app</title>");
      else res.writeHead(404).end();
      return;
    }
    const { mode } = state;
    let body = Buffer.from(file);
    let status = 200;
    // A strong entity tag per content, as CDNs send (it changes when the file is replaced).
    const headers: Record<string, string> = { etag: `"${createHash("sha256").update(file).digest("hex").slice(0, 16)}"` };
    const m = mode.range && req.headers.range ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range) : null;
    if (mode.range && req.headers.range) {
      const [start, end] = m ? [Number(m[1]), Math.min(Number(m[2]), file.length - 1)] : [NaN, NaN];
      if (!m || start >= file.length || end < start) {
        res.writeHead(416, { "content-range": `bytes */${file.length}` }).end();
        return;
      }
      body = body.subarray(start, end + 1);
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${file.length}`;
    }
    if (mode.gzip) {
      body = gzipSync(body);
      headers["content-encoding"] = "gzip";
    }
    if (mode.contentLength || mode.truncateTo !== undefined) headers["content-length"] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (mode.truncateTo !== undefined) {
      res.write(body.subarray(0, mode.truncateTo), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

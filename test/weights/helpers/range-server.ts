import { createServer, type Server } from "node:http";
import { open, stat } from "node:fs/promises";
import { join, normalize } from "node:path";
import type { AddressInfo } from "node:net";

export interface RangeServer {
  /** Base URL ending in "/". */
  url: string;
  /** Body bytes sent so far (what a client downloaded). */
  bytesSent: number;
  /** Requests seen, as "METHOD path range". */
  requests: string[];
  /** When true, Range headers are ignored (a server without Range support). */
  ignoreRange: boolean;
  /** Milliseconds to wait between body chunks (to make aborts land mid-transfer). */
  chunkDelayMs: number;
  /** Body chunk size in bytes. */
  chunkBytes: number;
  close(): Promise<void>;
}

/** Default body chunk size: big enough that the server is not the bottleneck in load measurements. */
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/**
 * A static file server on 127.0.0.1 for tests: GET and HEAD, single byte ranges ("bytes=a-b",
 * "bytes=a-"), 206 with Content-Range, 416 outside the file, 404 for missing files.
 */
export async function startRangeServer(root: string): Promise<RangeServer> {
  const state = { bytesSent: 0, requests: [] as string[], ignoreRange: false, chunkDelayMs: 0, chunkBytes: DEFAULT_CHUNK_BYTES };
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const range = req.headers.range;
    state.requests.push(`${req.method} ${path} ${range ?? ""}`.trim());
    const file = join(root, normalize(path).replace(/^([/\\])+/, ""));
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new Error("not a file");
      size = s.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    let end = size - 1;
    let status = 200;
    const headers: Record<string, string> = { "accept-ranges": "bytes" };
    if (range && !state.ignoreRange) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["content-length"] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === "HEAD" || size === 0) {
      res.end();
      return;
    }
    const handle = await open(file, "r");
    try {
      for (let at = start; at <= end && !res.destroyed; at += state.chunkBytes) {
        const n = Math.min(state.chunkBytes, end - at + 1);
        const buf = Buffer.alloc(n);
        await handle.read(buf, 0, n, at);
        if (state.chunkDelayMs) await new Promise((r) => setTimeout(r, state.chunkDelayMs));
        if (res.destroyed) break;
        const ok = res.write(buf);
        state.bytesSent += n;
        if (!ok) await new Promise<void>((r) => res.once("drain", () => r()).once("close", () => r()));
      }
    } finally {
      await handle.close();
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    get bytesSent() {
      return state.bytesSent;
    },
    set bytesSent(v) {
      state.bytesSent = v;
    },
    get requests() {
      return state.requests;
    },
    set requests(v) {
      state.requests = v;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v) {
      state.ignoreRange = v;
    },
    get chunkBytes() {
      return state.chunkBytes;
    },
    set chunkBytes(v) {
      state.chunkBytes = v;
    },
    get chunkDelayMs() {
      return state.chunkDelayMs;
    },
    set chunkDelayMs(v) {
      state.chunkDelayMs = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

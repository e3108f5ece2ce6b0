/**
 * What real servers, proxies and caches do to a checkpoint download, and what the loader must make
 * of it: a clear error naming the URL, or the right bytes — never another file's bytes, never a hang.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { urlSource } from "../../src/weights/sources/url-source.ts";
import { nodeFolderCache } from "../../src/weights/sources/node-cache.ts";
import { cacheStorageCache } from "../../src/weights/sources/cache-storage.ts";
import { checkRelativePath } from "../../src/weights/sources/types.ts";
import { openHttpByteSource } from "../../src/weights/sources/http-byte-source.ts";
import { openSafetensors } from "../../src/weights/safetensors/lazy-reader.ts";
import { encodeSafetensors } from "../../src/weights/safetensors/writer.ts";
import type { ByteSource } from "../../src/weights/safetensors/byte-source.ts";
import { startMemoryServer, type MemoryServer } from "./helpers/memory-server.ts";

/** a: F32 [4] = 1..4, b: F16 [2] = 1, 2, z: F32 [0] (stored last, so it starts at the end of the file). */
function smallCheckpoint(scale = 1): Uint8Array {
  return encodeSafetensors({
    a: { dtype: "F32", shape: [4], data: new Float32Array([1, 2, 3, 4].map((v) => v * scale)) },
    b: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0x4000]) },
    z: { dtype: "F32", shape: [0], data: new Float32Array(0) },
  });
}

async function readF32(src: ByteSource, name: string): Promise<number[]> {
  const file = await openSafetensors(src, "test");
  const bytes = await file.tensors.get(name)!.read();
  return [...new Float32Array(bytes.slice().buffer)];
}

let server: MemoryServer;
let dir: string;
beforeAll(async () => {
  server = await startMemoryServer({ "m.safetensors": smallCheckpoint(), "config.json": new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(500) })) });
  dir = mkdtempSync(join(tmpdir(), "http-edge-"));
});
afterEach(() => {
  server.mode = { range: true, contentLength: true, gzip: false };
  server.files.set("m.safetensors", smallCheckpoint());
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("paths named by an index stay inside the checkpoint", () => {
  it("refuses percent-encoded dot segments, which a URL parser resolves upwards", () => {
    for (const p of ["unet/%2e%2e/%2e%2e/other/x.safetensors", "unet/.%2E/x", "%2e%2e/x", "../x"]) {
      expect(() => checkRelativePath(p, "idx")).toThrow(/not a relative path inside the checkpoint/);
      expect(() => urlSource("https://example.org/org/model/resolve/main/").locate(p)).toThrow(/not a relative path/);
    }
    // Names that merely contain dots or escapes are fine.
    expect(urlSource("https://example.org/m/").locate("unet/a..b%20c.safetensors")).toBe("https://example.org/m/unet/a..b%20c.safetensors");
  });
});

describe("HTTP byte source", () => {
  it("refuses to read a tensor after the file changed on the server, instead of returning another layout's bytes", async () => {
    // A probe of 16 bytes holds only the length prefix, so (without read-ahead) the header and each tensor take a Range
    // request.
    const src = await openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: 16, readAheadBytes: 0 });
    const file = await openSafetensors(src, "m");
    const grown = encodeSafetensors({ pad: { dtype: "F32", shape: [24], data: new Float32Array(24) }, ...{ a: { dtype: "F32", shape: [4], data: new Float32Array(4) } } });
    server.files.set("m.safetensors", grown);
    await expect(file.tensors.get("a")!.read()).rejects.toThrow(/changed on the server since its header was read \(its size is now \d+ bytes, was \d+\)/);
  });

  it("also when the replacement has the same size: its ETag differs", async () => {
    const src = await openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: 16, readAheadBytes: 0 });
    const file = await openSafetensors(src, "m");
    server.files.set("m.safetensors", smallCheckpoint(2)); // same layout and size, other values
    await expect(file.tensors.get("a")!.read()).rejects.toThrow(/changed on the server since its header was read \(its ETag is now "\w+", was "\w+"\)/);
  });

  it("reads a zero-size tensor past the first bytes without asking the server for an empty range", async () => {
    const src = await openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: 16 });
    const file = await openSafetensors(src, "m");
    server.requests = [];
    expect((await file.tensors.get("z")!.read()).length).toBe(0);
    expect((await file.tensors.get("z")!.read(new Uint8Array(8))).length).toBe(0);
    expect(server.requests).toEqual([]);
  });

  it("accepts a small file sent whole without Content-Length (chunked), refuses a large one as ignoring Range", async () => {
    server.mode = { range: false, contentLength: false, gzip: false };
    const size = smallCheckpoint().length;
    expect(await readF32(await openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: size }), "a")).toEqual([1, 2, 3, 4]);
    await expect(openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: 16 })).rejects.toThrow(/ignored the Range request/);
  });

  it("a connection cut mid-body is an error naming the URL", async () => {
    server.mode = { range: true, contentLength: true, gzip: false, truncateTo: 4 };
    await expect(openHttpByteSource(`${server.url}m.safetensors`, { probeBytes: 64 })).rejects.toThrow(/m\.safetensors: (connection lost after \d+ bytes|request failed)/);
  });
});

describe("a host that answers unknown paths with its web page (single-page-app fallback)", () => {
  it("makes optional files absent and names the HTML page where a file was needed", async () => {
    server.mode = { range: true, contentLength: true, gzip: false, htmlFallback: true };
    try {
      const source = urlSource(server.url);
      expect(await source.exists("m.safetensors")).toBe(true);
      expect(await source.exists("tokenizer/added_tokens.json")).toBe(false); // before: true, then "Unexpected token '<'"
      await expect(source.readText("model_index.json")).rejects.toThrow(/model_index\.json: the server sent an HTML page, not the file/);
      await expect(source.open("unet/diffusion_pytorch_model.safetensors")).rejects.toThrow(/the server sent an HTML page, not the file/);
    } finally {
      server.mode = { range: true, contentLength: true, gzip: false };
    }
  });
});

describe("URL source over gzip, chunked bodies and caches", () => {
  it("reads a gzip-encoded config whose Content-Length counts the compressed bytes", async () => {
    server.mode = { range: true, contentLength: true, gzip: true };
    expect(JSON.parse(await urlSource(server.url).readText("config.json")).pad).toHaveLength(500);
  });

  it("caches a gzip-encoded download in a folder and reads it back", async () => {
    server.mode = { range: true, contentLength: true, gzip: true };
    const cacheDir = join(dir, "gzip-cache");
    const src = await urlSource(server.url, { cache: nodeFolderCache(cacheDir) }).open("m.safetensors");
    expect(src.size).toBe(smallCheckpoint().length);
    expect(await readF32(src, "a")).toEqual([1, 2, 3, 4]);
    await src.close?.();
    expect(readdirSync(cacheDir).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("caches a download of unstated length in Cache Storage (as browsers store it: no Content-Length)", async () => {
    server.mode = { range: true, contentLength: false, gzip: false };
    const stored = new Map<string, Response>();
    const cache = {
      match: async (url: string) => stored.get(url)?.clone(),
      put: async (url: string, res: Response) => void stored.set(url, new Response(await res.blob(), { headers: res.headers })),
      delete: async (url: string) => stored.delete(url),
    };
    const storage = { open: async () => cache } as unknown as CacheStorage;
    const source = urlSource(server.url, { cache: cacheStorageCache("t", storage) });
    expect(await readF32(await source.open("m.safetensors"), "a")).toEqual([1, 2, 3, 4]);
    server.requests = [];
    expect(await readF32(await source.open("m.safetensors"), "a")).toEqual([1, 2, 3, 4]);
    expect(server.requests).toEqual([]); // the second open came from the cache
  });

  it("two loads downloading the same file into one cache folder at once both succeed with the right bytes", async () => {
    const cacheDir = join(dir, "concurrent-cache");
    for (let round = 0; round < 5; round++) {
      rmSync(cacheDir, { recursive: true, force: true });
      const open = () => urlSource(server.url, { cache: nodeFolderCache(cacheDir) }).open("m.safetensors");
      const sources = await Promise.all([open(), open()]);
      for (const s of sources) {
        expect(await readF32(s, "a")).toEqual([1, 2, 3, 4]);
        await s.close?.();
      }
      expect(readdirSync(cacheDir).sort()).toHaveLength(2); // <key>.bin and <key>.json, no partial left
    }
  });
});

describe("lazy reader over a user-supplied ByteSource", () => {
  it("a source returning too few or too many bytes fails read(into) as it fails read()", async () => {
    const bytes = smallCheckpoint();
    const dataStart = bytes.length - 24; // a (16 bytes) + b (4) + padding: the header ends before them
    for (const delta of [-10, 4]) {
      const lying: ByteSource = {
        size: bytes.length,
        read: async (offset, length) => (offset >= dataStart ? new Uint8Array(Math.max(0, length + delta)) : bytes.subarray(offset, offset + length)),
      };
      const file = await openSafetensors(lying, "lying");
      await expect(file.tensors.get("a")!.read(new Uint8Array(64))).rejects.toThrow(/asked for 16 bytes at offset \d+ but the source returned/);
      await expect(file.tensors.get("a")!.read()).rejects.toThrow(/should be 16 bytes/);
    }
  });
});

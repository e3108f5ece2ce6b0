import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../weights-tools/cli.ts";
import { urlSource } from "../../src/weights/sources/url-source.ts";
import { nodeFolderCache } from "../../src/weights/sources/node-cache.ts";
import { openHttpByteSource } from "../../src/weights/sources/http-byte-source.ts";
import { openPipeline } from "../../src/weights/diffusers/pipeline.ts";
import { WeightsLoadError } from "../../src/weights/errors.ts";
import type { LoadProgress } from "../../src/weights/sources/progress.ts";
import { startRangeServer, type RangeServer } from "./helpers/range-server.ts";

let dir: string;
/** A small first request, so the tiny test files need real Range requests for their tensors. */
const PROBE = 1024;
let server: RangeServer;

/** Loads every tensor of every weight component and returns name → bytes. */
async function loadAll(source: ReturnType<typeof urlSource>): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const pipe = await openPipeline(source);
  for (const c of pipe.weightComponents) {
    const comp = await pipe.load(c);
    for (const [name, t] of comp.tensors) out.set(`${c}/${name}`, await t.read());
    await comp.close();
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wt-url-"));
  const quiet = console.log;
  console.log = () => {};
  try {
    expect(await main(["make-random", "--config", "/work/shared/configs/stabilityai--sd-turbo", "--out", join(dir, "ckpt"), "--tiny", "--quiet"])).toBe(0);
  } finally {
    console.log = quiet;
  }
  server = await startRangeServer(join(dir, "ckpt"));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("HTTP Range byte source", () => {
  it("reads ranges of a file byte for byte and counts only what it fetched", async () => {
    const path = join(dir, "ckpt/vae/diffusion_pytorch_model.safetensors");
    const file = readFileSync(path);
    server.bytesSent = 0;
    let reported = 0;
    const src = await openHttpByteSource(`${server.url}vae/diffusion_pytorch_model.safetensors`, { onBytes: (n) => (reported += n), probeBytes: PROBE });
    expect(src.size).toBe(file.length);
    for (const [o, l] of [[0, 8], [100, 1000], [file.length - 5, 5], [7, 0]] as const) {
      expect(Buffer.from(await src.read(o, l)).equals(file.subarray(o, o + l))).toBe(true);
    }
    expect(reported).toBe(server.bytesSent);
    await expect(src.read(file.length - 1, 2)).rejects.toThrow(/past the end/);
    // readInto fills a caller's buffer, across the kept first bytes and a Range request alike.
    const dest = new Uint8Array(3000);
    await src.readInto!(PROBE - 1000, dest);
    expect(Buffer.from(dest).equals(file.subarray(PROBE - 1000, PROBE + 2000))).toBe(true);
  });

  it("refuses a server that ignores Range for a file bigger than the first request, accepts a small one", async () => {
    server.ignoreRange = true;
    try {
      const url = `${server.url}vae/diffusion_pytorch_model.safetensors`;
      const size = readFileSync(join(dir, "ckpt/vae/diffusion_pytorch_model.safetensors")).length;
      await expect(openHttpByteSource(url, { probeBytes: PROBE })).rejects.toThrow(/ignored the Range request/);
      // A file that fits in the first answer comes whole, which needs no Range support.
      const src = await openHttpByteSource(url, { probeBytes: size });
      expect(src.size).toBe(size);
    } finally {
      server.ignoreRange = false;
    }
  });

  it("reports a missing file as an HTTP 404 error naming the URL", async () => {
    await expect(openHttpByteSource(`${server.url}nope.safetensors`)).rejects.toThrow(/nope\.safetensors: HTTP 404/);
  });
});

describe("URL source with progress and a cache", () => {
  it("loads lazily with progress per file and overall", async () => {
    const events: LoadProgress[] = [];
    server.bytesSent = 0;
    // No read-ahead here, so that only the headers and the tensor read travel.
    const source = urlSource(server.url, { probeBytes: PROBE, readAheadBytes: 0, onProgress: (p) => events.push({ ...p }) });
    const pipe = await openPipeline(source);
    expect(pipe.weightComponents).toEqual(["text_encoder", "unet", "vae"]);
    const comp = await pipe.load("vae");
    const first = [...comp.tensors.values()][0]!;
    await first.read();
    await comp.close();
    const last = events.at(-1)!;
    expect(last.bytesDone).toBe(source.progress.bytesDone);
    const fileEvents = events.filter((e) => e.file.endsWith(".safetensors"));
    expect(fileEvents.at(-1)!.fileBytesTotal).toBe(readFileSync(join(dir, "ckpt/vae/diffusion_pytorch_model.safetensors")).length);
    // Only headers and one tensor travelled, not the whole file.
    expect(fileEvents.at(-1)!.fileBytesDone).toBeLessThan(fileEvents.at(-1)!.fileBytesTotal);
    expect(source.progress.bytesDone).toBe(server.bytesSent);
  });

  it("reads ahead: a component's tensors, read in file order, take a few Range requests, not one each", async () => {
    const readAll = async (readAheadBytes?: number) => {
      const pipe = await openPipeline(urlSource(server.url, { probeBytes: PROBE, readAheadBytes }));
      const comp = await pipe.load("unet");
      server.requests.length = 0;
      const values: Uint8Array[] = [];
      for (const t of comp.tensors.values()) values.push(await t.read());
      await comp.close();
      return { values, requests: server.requests.filter((r) => r.includes("unet/")).length, tensors: comp.tensors.size };
    };
    const each = await readAll(0);
    const ahead = await readAll(); // default window (16 MiB): the whole small test UNet after the header
    expect(each.requests).toBeGreaterThanOrEqual(each.tensors - 1); // one per tensor past the first bytes
    expect(ahead.requests).toBeLessThanOrEqual(2);
    expect(ahead.values.length).toBe(each.values.length);
    ahead.values.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(each.values[i]!)), `tensor ${i}`).toBe(true));
    // A window smaller than the file: bytes still exact across window edges.
    const small = await readAll(3000);
    small.values.forEach((v, i) => expect(Buffer.from(v).equals(Buffer.from(each.values[i]!)), `tensor ${i}, 3000-byte windows`).toBe(true));
    expect(small.requests).toBeLessThan(each.requests);
  });

  it("downloads once into the cache; a second load fetches zero bytes and reads the same data", async () => {
    const cacheDir = join(dir, "cache");
    server.bytesSent = 0;
    const events: LoadProgress[] = [];
    const first = await loadAll(urlSource(server.url, { cache: nodeFolderCache(cacheDir), onProgress: (p) => events.push({ ...p }) }));
    const fileSize = readFileSync(join(dir, "ckpt/vae/diffusion_pytorch_model.safetensors")).length;
    expect(server.bytesSent).toBeGreaterThanOrEqual(fileSize);
    const done = events.filter((e) => e.file.endsWith(".safetensors")).at(-1)!;
    expect(done.fileBytesDone).toBe(fileSize);
    expect(done.fileBytesTotal).toBe(fileSize);

    server.bytesSent = 0;
    server.requests = [];
    const second = await loadAll(urlSource(server.url, { cache: nodeFolderCache(cacheDir) }));
    expect(server.bytesSent).toBe(0);
    expect(server.requests.filter((r) => r.startsWith("GET"))).toEqual([]);
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [k, v] of first) expect(Buffer.from(second.get(k)!).equals(Buffer.from(v)), k).toBe(true);
  });

  it("an AbortSignal stops a download and leaves no cache entry behind", async () => {
    const cacheDir = join(dir, "cache-abort");
    // Small, slow chunks: the abort lands while most of the file is still to come.
    server.chunkDelayMs = 20;
    server.chunkBytes = 4096;
    try {
      const controller = new AbortController();
      const source = urlSource(server.url, {
        cache: nodeFolderCache(cacheDir),
        signal: controller.signal,
        onProgress: (p) => {
          if (p.file.endsWith(".safetensors") && p.fileBytesDone > 0) controller.abort();
        },
      });
      await expect(source.open("vae/diffusion_pytorch_model.safetensors")).rejects.toThrow(/abort/i);
      const left = readdirSync(cacheDir).filter((f) => f.endsWith(".bin") || f.endsWith(".partial"));
      expect(left).toEqual([]);
      expect(server.bytesSent).toBeLessThan(readFileSync(join(dir, "ckpt/vae/diffusion_pytorch_model.safetensors")).length);
    } finally {
      server.chunkDelayMs = 0;
      server.chunkBytes = 1024 * 1024;
    }
  });

  it("an AbortSignal also stops lazy Range reads", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(urlSource(server.url, { signal: controller.signal, probeBytes: PROBE }).open("vae/diffusion_pytorch_model.safetensors")).rejects.toThrow(/abort/i);
  });

  it("a missing component file is a WeightsLoadError naming the URL", async () => {
    const source = urlSource(server.url);
    await expect(source.readText("controlnet/config.json")).rejects.toBeInstanceOf(WeightsLoadError);
    expect(await source.exists("controlnet/config.json")).toBe(false);
    expect(await source.exists("vae/config.json")).toBe(true);
  });
});

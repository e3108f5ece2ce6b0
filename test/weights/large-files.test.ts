import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planSafetensorsLayout } from "../../src/weights/safetensors/writer.ts";
import { SafetensorsStreamWriter, type ByteSink } from "../../src/weights/safetensors/stream-writer.ts";
import { openSafetensors } from "../../src/weights/safetensors/lazy-reader.ts";
import { openNodeFileByteSource } from "../../src/weights/safetensors/node-byte-source.ts";
import { openNodeFileSink } from "../../src/weights/safetensors/node-sink.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";

const dir = mkdtempSync(join(tmpdir(), "wt-large-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 5 GiB: past both the 2 GiB (int32) and 4 GiB (uint32) boundaries where 32-bit offsets would wrap. */
const BIG = 5 * 2 ** 30;

describe("files over 4 GiB", () => {
  it("reads a tensor that starts past 4 GiB from a sparse file through a file handle", async () => {
    // Header: a 5 GiB U8 "padding" tensor, then a small F32 tensor at offset > 4 GiB. The file is
    // sparse (ftruncate), so it costs no disk space or write time.
    const layout = planSafetensorsLayout([
      { name: "padding", dtype: "U8", shape: [BIG] },
      { name: "tail", dtype: "F32", shape: [4] },
    ]);
    const path = join(dir, "sparse.safetensors");
    const fh = await open(path, "w");
    await fh.truncate(layout.fileSize);
    await fh.write(layout.headerBytes, 0, layout.headerBytes.length, 0);
    const tail = new Float32Array([1, 2, 3, 4]);
    const tailAt = layout.headerBytes.length + layout.tensors[1]!.begin;
    await fh.write(new Uint8Array(tail.buffer), 0, 16, tailAt);
    await fh.close();
    expect(statSync(path).size).toBe(layout.fileSize);
    expect(tailAt).toBeGreaterThan(2 ** 32);

    const src = await openNodeFileByteSource(path);
    const st = await openSafetensors(src, path);
    const t = st.tensors.get("tail")!;
    expect(t.offset).toBe(tailAt);
    expect(Array.from(new Float32Array((await t.read()).slice().buffer))).toEqual([1, 2, 3, 4]);
    // read(into) fills a reused staging buffer instead of allocating, and refuses one too small.
    const staging = new Uint8Array(64).fill(7);
    const view = await t.read(staging);
    expect(view.buffer).toBe(staging.buffer);
    expect(Array.from(new Float32Array(staging.slice(0, 16).buffer))).toEqual([1, 2, 3, 4]);
    expect(staging[16]).toBe(7);
    await expect(t.read(new Uint8Array(8))).rejects.toThrow(/needs 16 bytes but the destination has 8/);
    expect(st.tensors.get("padding")!.byteLength).toBe(BIG);
    // A read straddling the 4 GiB boundary returns the (zero) sparse bytes, not wrapped data.
    expect(Array.from(await src.read(2 ** 32 - 2, 4))).toEqual([0, 0, 0, 0]);
    await src.close();
  });

  it("a virtual 5 GiB source: header offsets beyond 2^32 are parsed as exact numbers", async () => {
    const layout = planSafetensorsLayout([
      { name: "big", dtype: "F16", shape: [BIG / 2] },
      { name: "x", dtype: "I32", shape: [2] },
    ]);
    const xAt = layout.headerBytes.length + BIG;
    const virtual = {
      size: layout.fileSize,
      async read(offset: number, length: number) {
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i++) {
          const p = offset + i;
          if (p < layout.headerBytes.length) out[i] = layout.headerBytes[p]!;
          else if (p >= xAt) out[i] = p - xAt + 1; // bytes 1..8
        }
        return out;
      },
    };
    const st = await openSafetensors(virtual, "virtual");
    expect(st.tensors.get("x")!.offset).toBe(xAt);
    expect(Array.from(await st.tensors.get("x")!.read())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("streaming writer", () => {
  it("writes header then tensors in chunks; the file reads back identically", async () => {
    const path = join(dir, "streamed.safetensors");
    const sink = await openNodeFileSink(path);
    const specs = [
      { name: "w", dtype: "F32" as const, shape: [3, 1000] },
      { name: "empty", dtype: "F16" as const, shape: [0, 4] },
      { name: "q", dtype: "I8" as const, shape: [5] },
    ];
    const writer = new SafetensorsStreamWriter(sink, specs, { k: "v" });
    const w = Float32Array.from({ length: 3000 }, (_, i) => i * 0.5);
    const bytes = new Uint8Array(w.buffer);
    for (let at = 0; at < bytes.length; at += 1000) await writer.writeChunk("w", bytes.subarray(at, at + 1000));
    await writer.writeTensor("q", new Int8Array([1, 2, 3, 4, 5]));
    await writer.finish();
    const f = readSafetensorsFileSync(path);
    expect(f.metadata).toEqual({ k: "v" });
    expect(Array.from(f.f32("w"))).toEqual(Array.from(w));
    expect(f.shape("empty")).toEqual([0, 4]);
    expect(Array.from(f.typed("q") as Int8Array)).toEqual([1, 2, 3, 4, 5]);
    expect(writer.bytesWritten).toBe(statSync(path).size);
  });

  it("refuses out-of-order, oversized and incomplete tensors, and leaves no file on abort", async () => {
    const chunks: Uint8Array[] = [];
    const memory: ByteSink = { write: async (b) => void chunks.push(b.slice()), close: async () => {} };
    const specs = [
      { name: "a", dtype: "F32" as const, shape: [2] },
      { name: "b", dtype: "F32" as const, shape: [1] },
    ];
    const w1 = new SafetensorsStreamWriter(memory, specs);
    await expect(w1.writeChunk("b", new Uint8Array(4))).rejects.toThrow(/expected data for "a" \(tensor 1 of 2\), got "b"/);
    await expect(w1.writeChunk("a", new Uint8Array(12))).rejects.toThrow(/"a" is 8 bytes but 12 were written/);
    await w1.writeChunk("a", new Uint8Array(8));
    await expect(w1.finish()).rejects.toThrow(/1 tensor\(s\) unwritten or incomplete: b/);

    const path = join(dir, "aborted.safetensors");
    const sink = await openNodeFileSink(path);
    const w2 = new SafetensorsStreamWriter(sink, specs);
    await w2.writeChunk("a", new Uint8Array(8));
    await sink.abort();
    expect(() => statSync(path)).toThrow();
    expect(() => statSync(`${path}.partial`)).toThrow();
  });
});

import { describe, expect, it } from "vitest";
import { existsSync, openAsBlob } from "node:fs";
import { join } from "node:path";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { openNodeFileByteSource } from "../../src/weights/safetensors/node-byte-source.ts";
import { blobByteSource } from "../../src/weights/safetensors/byte-source.ts";
import { openSafetensors } from "../../src/weights/safetensors/lazy-reader.ts";
import { findFiles } from "./helpers/files.ts";

/** Every safetensors file we can read: the shipped fixtures, the full oracle and toy-shapes when present. */
function safetensorsFiles(): string[] {
  const dirs = [FIXTURE_GOLDEN];
  const full = fullGoldenDir();
  if (full) dirs.push(full, join(full, "../toy-shapes"));
  console.log(`[weights] golden readers: full oracle ${full ? "RUNS" : "NOT available; shipped fixtures only"}`);
  return dirs.filter((d) => existsSync(d)).flatMap((d) => findFiles(d, ".safetensors"));
}

const files = safetensorsFiles();

describe("whole-file and lazy readers agree on every golden safetensors file", () => {
  it("finds files to read", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it("file-handle and Blob sources return the same header and bytes as the whole-file reader", async () => {
    let tensors = 0;
    for (const path of files) {
      const whole = readSafetensorsFileSync(path);
      const handle = await openNodeFileByteSource(path);
      try {
        const lazy = await openSafetensors(handle, path);
        const viaBlob = await openSafetensors(blobByteSource(await openAsBlob(path)), path);
        expect(lazy.metadata, path).toEqual(whole.metadata);
        expect([...lazy.tensors.keys()].sort(), path).toEqual([...whole.entries.keys()].sort());
        for (const [name, t] of lazy.tensors) {
          const expected = whole.bytes(name);
          expect(t.shape, `${path} ${name}`).toEqual(whole.shape(name));
          expect(t.dtype).toBe(whole.entries.get(name)!.dtype);
          // Byte-for-byte: Buffer.equals is a memcmp, fast enough for the 67 MB oracle.
          expect(Buffer.from(await t.read()).equals(Buffer.from(expected)), `${path} ${name} (handle)`).toBe(true);
          expect(Buffer.from(await viaBlob.tensors.get(name)!.read()).equals(Buffer.from(expected)), `${path} ${name} (blob)`).toBe(true);
          tensors++;
        }
      } finally {
        await handle.close();
      }
    }
    console.log(`[weights] ${files.length} files, ${tensors} tensors compared`);
    expect(tensors).toBeGreaterThan(0);
  });
});

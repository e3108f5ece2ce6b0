/**
 * The lazy pack reader (any ByteSource: Node file, Blob/File, URL) returns exactly what the Node pack
 * reader returns, and refuses packs whose metadata disagrees with their tensors.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPack, writePack, type TensorSource } from "../../src/quant/pack.ts";
import { openLazyPack } from "../../src/quant/pack-reader.ts";
import { checkPackConfig } from "../../src/quant/packed-pipeline.ts";
import { parsePolicy } from "../../src/quant/policy.ts";
import { blobByteSource, memoryByteSource } from "../../src/weights/safetensors/byte-source.ts";
import { openNodeFileByteSource } from "../../src/weights/safetensors/node-byte-source.ts";

function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const TENSORS: Record<string, { shape: number[]; data: Float32Array }> = {
  "a.to_q.weight": { shape: [24, 64], data: values(24 * 64, 1) },
  "a.to_q.bias": { shape: [24], data: values(24, 2) },
  "a.conv1.weight": { shape: [8, 32, 3, 3], data: values(8 * 288, 3) },
  "a.norm.weight": { shape: [8], data: values(8, 4) },
};
const source: TensorSource = {
  specs: Object.entries(TENSORS).map(([name, t]) => ({ name, dtype: "F32" as const, shape: t.shape })),
  read: (name) => new Uint8Array(TENSORS[name]!.data.buffer.slice(0)),
};

/** Rewrites a safetensors file's JSON header (same data), e.g. to tamper with the pack metadata. */
function rewriteHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  json = padded;
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

for (const scheme of ["W4A8", "W4A16", "W8A8"] as const) {
  describe(`lazy pack reader (${scheme}, policy all)`, () => {
    const path = join(mkdtempSync(join(tmpdir(), "qpack-lazy-")), "p.safetensors");
    writePack(path, source, { scheme, groupSize: scheme === "W4A16" ? 32 : undefined, policy: parsePolicy("all"), sourceModel: "m", component: "unet", componentConfig: { in_channels: 4, _diffusers_version: "x" } });
    const bytes = new Uint8Array(readFileSync(path));

    it("reads the same names, metadata, packed codes/scales/zero points and floats as openPack, over a file, a Blob and memory", async () => {
      const node = openPack(path);
      const sources = [await openNodeFileByteSource(path), blobByteSource(new Blob([bytes])), memoryByteSource(bytes)];
      for (const src of sources) {
        const lazy = await openLazyPack(src, path);
        expect(lazy.names).toEqual(node.names);
        expect(lazy.info).toEqual(node.info);
        expect(lazy.info.componentConfig).toEqual({ in_channels: 4, _diffusers_version: "x" });
        expect(lazy.shape("a.conv1.weight")).toEqual([8, 32, 3, 3]);
        for (const name of node.names) {
          if (node.isQuantized(name)) {
            const [a, b] = [node.readQuantized(name), await lazy.readQuantized(name)];
            expect([...b.words]).toEqual([...a.words]);
            expect([...b.scales]).toEqual([...a.scales]);
            expect(b.zeroPoints === null ? null : [...b.zeroPoints]).toEqual(a.zeroPoints === null ? null : [...a.zeroPoints]);
            expect([b.n, b.k, b.groupSize]).toEqual([a.n, a.k, a.groupSize]);
            await expect(lazy.readFloat(name)).rejects.toThrow(/is quantized; use readQuantized/);
          } else {
            expect(lazy.isQuantized(name)).toBe(false);
            expect([...(await lazy.readFloat(name)).bytes]).toEqual([...node.readFloat(name).bytes]);
          }
        }
        await lazy.close();
      }
      node.close();
      expect(openPack(path).isQuantized("a.conv1.weight")).toBe(true);
    });

    it("refuses a layout whose shape disagrees with its n, k, or that names a missing tensor", async () => {
      const shapeBad = rewriteHeader(bytes, (h) => {
        const l = JSON.parse(h.__metadata__.qsched_layout);
        l["a.to_q.weight"].shape = [24, 32];
        h.__metadata__.qsched_layout = JSON.stringify(l);
      });
      await expect(openLazyPack(memoryByteSource(shapeBad), "bad")).rejects.toThrow(/"a.to_q.weight" has shape \[24,32\] but its layout says n = 24, k = 64/);
      const missing = rewriteHeader(bytes, (h) => {
        const l = JSON.parse(h.__metadata__.qsched_layout);
        l["a.to_q.weight"].scales = "a.to_q.weight.nope";
        h.__metadata__.qsched_layout = JSON.stringify(l);
      });
      await expect(openLazyPack(memoryByteSource(missing), "bad")).rejects.toThrow(/no tensor "a.to_q.weight.nope"/);
      writeFileSync(path + ".bad", shapeBad);
      expect(() => openPack(path + ".bad")).toThrow(/has shape \[24,32\] but its layout says/); // the Node reader checks the same
    });
  });
}

describe("checkPackConfig", () => {
  const info = { scheme: "W4A8" as const, groupSize: 32, sourceModel: "toy", component: "unet", policy: "torchao", layout: {}, componentConfig: { a: 1, b: [2, 3], _diffusers_version: "0.30" } };
  it("passes the same config (bookkeeping keys ignored) and names each differing key", () => {
    expect(() => checkPackConfig(info, { a: 1, b: [2, 3], _diffusers_version: "0.31", _name_or_path: "x" }, "p")).not.toThrow();
    expect(() => checkPackConfig(info, { a: 1, b: [2, 4], c: true }, "p")).toThrow(
      /p: a quantized pack for another model \(made from toy\): b is \[2,4\] in config.json but \[2,3\] in the pack's; c is true in config.json but absent in the pack's/,
    );
    expect(() => checkPackConfig({ ...info, componentConfig: undefined }, { z: 1 }, "p")).not.toThrow(); // nothing recorded
  });
});

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { parseSafetensorsHeader, readHeaderLength, type SafetensorsEntry } from "./header.ts";
import { bytesToFloat32, bytesToTypedArray, type TypedArrayOf } from "./convert.ts";

/** A whole safetensors file read synchronously (for fixtures and small files; big models stream instead). */
export interface LoadedSafetensors {
  path: string;
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  /** Raw bytes of one tensor. */
  bytes(name: string): Uint8Array;
  /** Tensor as its natural typed array. */
  typed(name: string): TypedArrayOf;
  /** Tensor widened/narrowed to float32. */
  f32(name: string): Float32Array;
  shape(name: string): number[];
}

export function readSafetensorsFileSync(path: string): LoadedSafetensors {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    readSync(fd, prefix, 0, Math.min(8, size), 0);
    const n = readHeaderLength(prefix, size, path);
    const json = new Uint8Array(n);
    readSync(fd, json, 0, n, 8);
    const header = parseSafetensorsHeader(json, size, path);
    const data = new Uint8Array(size - header.dataStart);
    let got = 0;
    while (got < data.length) {
      const r = readSync(fd, data, got, data.length - got, header.dataStart + got);
      if (r <= 0) break;
      got += r;
    }
    const entry = (name: string): SafetensorsEntry => {
      const e = header.entries.get(name);
      if (!e) throw new Error(`${path}: no tensor "${name}" (has: ${[...header.entries.keys()].join(", ")})`);
      return e;
    };
    const bytes = (name: string) => {
      const e = entry(name);
      return data.subarray(e.start - header.dataStart, e.end - header.dataStart);
    };
    return {
      path,
      metadata: header.metadata,
      entries: header.entries,
      bytes,
      typed: (name) => bytesToTypedArray(entry(name).dtype, bytes(name)),
      f32: (name) => bytesToFloat32(entry(name).dtype, bytes(name)),
      shape: (name) => [...entry(name).shape],
    };
  } finally {
    closeSync(fd);
  }
}

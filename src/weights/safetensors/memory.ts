import { parseSafetensorsHeader, readHeaderLength, type SafetensorsEntry } from "./header.ts";
import { bytesToFloat32, bytesToTypedArray, type TypedArrayOf } from "./convert.ts";

/** A safetensors file held in memory (fixtures, small packs, browser fetches). */
export interface SafetensorsInMemory {
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  has(name: string): boolean;
  bytes(name: string): Uint8Array;
  typed(name: string): TypedArrayOf;
  f32(name: string): Float32Array;
  shape(name: string): number[];
}

/** Parses and validates a whole safetensors file given as bytes. */
export function parseSafetensorsBytes(file: Uint8Array, where: string): SafetensorsInMemory {
  const n = readHeaderLength(file.subarray(0, 8), file.length, where);
  const header = parseSafetensorsHeader(file.subarray(8, 8 + n), file.length, where);
  const entry = (name: string): SafetensorsEntry => {
    const e = header.entries.get(name);
    if (!e) throw new Error(`${where}: no tensor "${name}" (has: ${[...header.entries.keys()].join(", ")})`);
    return e;
  };
  const bytes = (name: string) => {
    const e = entry(name);
    return file.subarray(e.start, e.end);
  };
  return {
    metadata: header.metadata,
    entries: header.entries,
    has: (name) => header.entries.has(name),
    bytes,
    typed: (name) => bytesToTypedArray(entry(name).dtype, bytes(name)),
    f32: (name) => bytesToFloat32(entry(name).dtype, bytes(name)),
    shape: (name) => [...entry(name).shape],
  };
}

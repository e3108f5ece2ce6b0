import { checkReadLength, type ByteSource } from "./byte-source.ts";
import type { SafetensorsDtype } from "./dtypes.ts";
import { SafetensorsError } from "./errors.ts";
import { parseSafetensorsHeader, readHeaderLength, type SafetensorsEntry } from "./header.ts";
// Whole files already in memory are parsed by parseSafetensorsBytes in ./memory.ts.

/** One tensor of a lazily opened file: its description now, its bytes on `read()`. */
export interface LazyTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Payload size in bytes. */
  byteLength: number;
  /** Absolute offset of the payload in its file. */
  offset: number;
  /** Where the tensor lives (file path or URL), for error messages. */
  file: string;
  /**
   * Reads exactly this tensor's bytes from the source. With `into` (at least `byteLength` bytes),
   * fills and returns `into.subarray(0, byteLength)` instead of allocating.
   */
  read(into?: Uint8Array): Promise<Uint8Array>;
}

export interface LazySafetensors {
  where: string;
  source: ByteSource;
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  /** Tensors in file order. */
  tensors: Map<string, LazyTensor>;
  /** Bytes of the 8-byte prefix plus the JSON header. */
  dataStart: number;
}

/**
 * Opens a safetensors file over any ByteSource, reading only the length prefix and the header.
 * The header is validated in full (see `parseSafetensorsHeader`) before anything else is read, so a
 * hostile file can never make a later tensor read leave the source's bounds.
 */
export async function openSafetensors(source: ByteSource, where: string): Promise<LazySafetensors> {
  const size = source.size;
  if (!Number.isSafeInteger(size) || size < 0) throw new SafetensorsError(`source size ${size} is not a byte count`, where);
  if (size < 8) throw new SafetensorsError(`file is ${size} bytes, shorter than the 8-byte header length`, where);
  const prefix = await source.read(0, 8);
  const headerLength = readHeaderLength(prefix, size, where);
  const json = await source.read(8, headerLength);
  if (json.length !== headerLength) {
    throw new SafetensorsError(`header should be ${headerLength} bytes but ${json.length} were read`, where);
  }
  const header = parseSafetensorsHeader(json, size, where);
  const entries = [...header.entries.values()].sort((a, b) => a.start - b.start);
  const tensors = new Map<string, LazyTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      name: e.name,
      dtype: e.dtype,
      shape: [...e.shape],
      byteLength: e.end - e.start,
      offset: e.start,
      file: where,
      read: async (into?: Uint8Array) => {
        const length = e.end - e.start;
        if (into) {
          if (into.length < length) throw new SafetensorsError(`tensor "${e.name}" needs ${length} bytes but the destination has ${into.length}`, where);
          const dest = into.subarray(0, length);
          if (source.readInto) await source.readInto(e.start, dest);
          else dest.set(checkReadLength(await source.read(e.start, length), e.start, length, where));
          return dest;
        }
        const bytes = await source.read(e.start, length);
        if (bytes.length !== e.end - e.start) {
          throw new SafetensorsError(`tensor "${e.name}" should be ${e.end - e.start} bytes but ${bytes.length} were read`, where);
        }
        return bytes;
      },
    });
  }
  return { where, source, metadata: header.metadata, entries: header.entries, tensors, dataStart: header.dataStart };
}

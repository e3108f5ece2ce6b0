import { SafetensorsError } from "./errors.ts";

/**
 * Random access to the bytes of one file without holding it whole: a Node file handle, a browser
 * Blob/File, an HTTP URL with Range requests, or memory. Offsets are plain JS numbers (exact up to
 * 2^53), so files over 2 GiB or 4 GiB need no special handling.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; rejects when the range is not inside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: fills `dest` with the `dest.length` bytes at `offset`, so a caller can reuse one
   * staging buffer instead of allocating per tensor (fresh multi-MB buffers cost page faults).
   */
  readInto?(offset: number, dest: Uint8Array): Promise<void>;
  /** Releases the handle or connection, if any. Reads after close fail. */
  close?(): Promise<void>;
}

/** Throws unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkReadRange(offset: number, length: number, size: number, where: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SafetensorsError(`read(${offset}, ${length}) needs non-negative integer offset and length`, where);
  }
  if (offset + length > size) {
    throw new SafetensorsError(`read of ${length} bytes at offset ${offset} runs past the end of the ${size}-byte source`, where);
  }
}

/** Throws when a source returned fewer or more bytes than asked for (a truncated file or a bad server). */
export function checkReadLength(got: Uint8Array, offset: number, length: number, where: string): Uint8Array {
  if (got.length !== length) {
    throw new SafetensorsError(`asked for ${length} bytes at offset ${offset} but the source returned ${got.length}`, where);
  }
  return got;
}

/** A ByteSource over bytes already in memory (tests, small files, cached headers). */
export function memoryByteSource(bytes: Uint8Array, where = "memory"): ByteSource {
  return {
    size: bytes.length,
    async read(offset, length) {
      checkReadRange(offset, length, bytes.length, where);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A ByteSource over a Blob or File (browser, or Node's `fs.openAsBlob`); only the sliced range is read. */
export function blobByteSource(blob: Blob, where = blob instanceof File ? blob.name : "blob"): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      checkReadRange(offset, length, blob.size, where);
      if (length === 0) return new Uint8Array(0);
      const got = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      return checkReadLength(got, offset, length, where);
    },
  };
}

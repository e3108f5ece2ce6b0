/**
 * Node file access one tensor at a time: a safetensors reader that parses the header and reads a
 * tensor's bytes by offset on demand, and a writer that emits the header first (all shapes are known
 * up front) and then appends tensors in header order. Neither ever holds more than one tensor.
 * (Used by the pack tools; the weights layer has its own general readers.)
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { parseSafetensorsHeader, readHeaderLength, type SafetensorsEntry } from "../weights/safetensors/header.ts";
import { SAFETENSORS_DTYPE_BYTES } from "../weights/safetensors/dtypes.ts";
import type { TensorSpec } from "./pack-format.ts";

export interface TensorFileReader {
  path: string;
  metadata: Record<string, string>;
  /** Entries in file order. */
  entries: SafetensorsEntry[];
  entry(name: string): SafetensorsEntry;
  /** Reads one tensor's bytes (a fresh, aligned buffer). */
  read(name: string): Uint8Array;
  close(): void;
}

function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let got = 0;
  while (got < into.length) {
    const r = readSync(fd, into, got, into.length - got, position + got);
    if (r <= 0) throw new Error(`${path}: file ended after ${got} of ${into.length} bytes at offset ${position}`);
    got += r;
  }
}

export function openTensorFile(path: string): TensorFileReader {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    readFully(fd, prefix, 0, path);
    const json = new Uint8Array(readHeaderLength(prefix, size, path));
    readFully(fd, json, 8, path);
    const header = parseSafetensorsHeader(json, size, path);
    const entries = [...header.entries.values()].sort((a, b) => a.start - b.start);
    const entry = (name: string) => {
      const e = header.entries.get(name);
      if (!e) throw new Error(`${path}: no tensor "${name}"`);
      return e;
    };
    return {
      path,
      metadata: header.metadata,
      entries,
      entry,
      read(name) {
        const e = entry(name);
        const out = new Uint8Array(e.end - e.start);
        readFully(fd, out, e.start, path);
        return out;
      },
      close: () => closeSync(fd),
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Streaming safetensors writer: the header (from `specs`, in order) is written at once; then exactly
 * one `write` per spec, in the same order, with the byte length the shape implies.
 */
export class TensorFileWriter {
  private next = 0;
  private position: number;
  private readonly fd: number;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly specs: TensorSpec[],
    metadata: Record<string, string>,
  ) {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let offset = 0;
    for (const s of specs) {
      const bytes = s.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[s.dtype];
      header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    let json = new TextEncoder().encode(JSON.stringify(header));
    // Pad with spaces to a multiple of 8 so tensor data starts aligned.
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
    this.fd = openSync(path, "w");
    writeSync(this.fd, prefix);
    writeSync(this.fd, json);
    this.position = 8 + json.length;
  }

  write(name: string, parts: Uint8Array[]): void {
    const spec = this.specs[this.next];
    if (!spec || spec.name !== name) throw new Error(`${this.path}: wrote "${name}" but the header expects ${spec ? `"${spec.name}"` : "no more tensors"} next`);
    const want = spec.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[spec.dtype];
    const got = parts.reduce((a, p) => a + p.byteLength, 0);
    if (got !== want) throw new Error(`${this.path}: "${name}" is ${spec.dtype} [${spec.shape}] = ${want} bytes, got ${got}`);
    for (const p of parts) {
      let done = 0;
      while (done < p.byteLength) done += writeSync(this.fd, p, done, p.byteLength - done, this.position + done);
      this.position += p.byteLength;
    }
    this.next++;
  }

  /** Gives up: closes the file if still open and deletes it. */
  abort(): void {
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
    rmSync(this.path, { force: true });
  }

  close(): void {
    this.closed = true;
    closeSync(this.fd);
    if (this.next !== this.specs.length) {
      throw new Error(`${this.path}: closed after ${this.next} of ${this.specs.length} tensors; the file is incomplete`);
    }
  }
}

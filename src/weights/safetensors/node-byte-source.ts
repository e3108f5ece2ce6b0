import { open } from "node:fs/promises";
import { checkReadLength, checkReadRange, type ByteSource } from "./byte-source.ts";
import { SafetensorsError } from "./errors.ts";

/** One `read` syscall moves at most this much: Node rejects single reads over 2 GiB. */
const MAX_READ_CHUNK = 1 << 30;

/** A ByteSource over a file opened with a Node file handle; call `close()` when done. */
export async function openNodeFileByteSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, "r");
  const { size } = await handle.stat();
  let closed = false;
  const readInto = async (offset: number, out: Uint8Array): Promise<void> => {
    const length = out.length;
    if (closed) throw new SafetensorsError(`read after close`, path);
    checkReadRange(offset, length, size, path);
    let got = 0;
    while (got < length) {
      const want = Math.min(length - got, MAX_READ_CHUNK);
      const { bytesRead } = await handle.read(out, got, want, offset + got);
      if (bytesRead === 0) break; // the file shrank under us; reported below
      got += bytesRead;
    }
    checkReadLength(out.subarray(0, got), offset, length, path);
  };
  return {
    size,
    async read(offset, length) {
      checkReadRange(offset, length, size, path); // before allocating `length` bytes
      const out = new Uint8Array(length);
      await readInto(offset, out);
      return out;
    },
    readInto,
    async close() {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    },
  };
}

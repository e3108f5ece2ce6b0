import { open, rename, rm } from "node:fs/promises";
import { removeOnInterrupt } from "../../util/interrupt-cleanup.ts";
import type { ByteSink } from "./stream-writer.ts";

/** Writes smaller than this are gathered into one buffer before they reach the file. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * A ByteSink writing to `path` through a temporary file that is renamed into place on close, so an
 * interrupted run never leaves a half-written file under the real name. `abort()` deletes the
 * temporary file.
 */
export async function openNodeFileSink(path: string): Promise<ByteSink & { abort(): Promise<void> }> {
  const tmp = `${path}.partial`;
  const handle = await open(tmp, "w");
  const forget = removeOnInterrupt(tmp);
  let position = 0;
  let open_ = true;
  // Small writes (a header, thousands of tiny tensors) are gathered so each syscall moves MBs.
  const buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  let buffered = 0;
  const writeAll = async (bytes: Uint8Array) => {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  };
  const flush = async () => {
    if (buffered) await writeAll(buffer.subarray(0, buffered));
    buffered = 0;
  };
  return {
    async write(bytes) {
      if (buffered + bytes.length > buffer.length) await flush();
      if (bytes.length >= buffer.length) await writeAll(bytes);
      else {
        buffer.set(bytes, buffered);
        buffered += bytes.length;
      }
    },
    async close() {
      if (!open_) return;
      await flush();
      open_ = false;
      await handle.close();
      await rename(tmp, path);
      forget();
    },
    async abort() {
      if (open_) {
        open_ = false;
        await handle.close();
      }
      await rm(tmp, { force: true });
      forget();
    },
  };
}

import type { ByteSource } from "../safetensors/byte-source.ts";

/**
 * Whole-file copies of downloaded files, keyed by URL, so a second load reads nothing from the
 * network. Implemented by a cache folder in Node and by Cache Storage in browsers.
 */
export interface WeightsCache {
  /** The cached copy of `url`, or null when it is not cached (or only partly written). */
  get(url: string): Promise<ByteSource | null>;
  /**
   * Stores `body` under `url` and returns the cached copy. The entry becomes visible only once the
   * whole body arrived and (when given) matches `expectedSize`; an aborted or short download leaves
   * nothing behind.
   */
  put(url: string, body: ReadableStream<Uint8Array>, expectedSize?: number): Promise<ByteSource>;
}

/** Passes a stream through, counting bytes as they flow. */
export function countingStream(body: ReadableStream<Uint8Array>, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(chunk.length);
        controller.enqueue(chunk);
      },
    }),
  );
}

import { planSafetensorsLayout, type SafetensorsLayout, type TensorSpec } from "./writer.ts";

/** Where a streaming writer puts bytes, in order (a Node file handle, a WritableStream, memory). */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * Writes a safetensors file tensor by tensor, so the whole payload never sits in memory. Shapes are
 * fixed up front (the header comes first in the file); tensors must then be written in the planned
 * order, each in one or more chunks that add up to its exact size. `finish()` refuses to close a file
 * with missing bytes.
 */
export class SafetensorsStreamWriter {
  readonly layout: SafetensorsLayout;
  private index = 0;
  private writtenInTensor = 0;
  private started = false;
  /** Bytes handed to the sink so far, header included. */
  bytesWritten = 0;

  constructor(
    private readonly sink: ByteSink,
    specs: TensorSpec[],
    metadata?: Record<string, string>,
    private readonly where = "safetensors writer",
  ) {
    this.layout = planSafetensorsLayout(specs, metadata);
  }

  /** The tensor the next `writeChunk` belongs to, or null when every tensor is complete. */
  get current(): (TensorSpec & { begin: number; end: number }) | null {
    return this.layout.tensors[this.index] ?? null;
  }

  /** Appends bytes of the current tensor; moves to the next tensor once this one is complete. */
  async writeChunk(name: string, chunk: Uint8Array): Promise<void> {
    await this.ensureHeader();
    const t = this.current;
    if (!t) throw new Error(`${this.where}: got data for "${name}" after the last tensor`);
    if (t.name !== name) throw new Error(`${this.where}: expected data for "${t.name}" (tensor ${this.index + 1} of ${this.layout.tensors.length}), got "${name}"`);
    const size = t.end - t.begin;
    if (this.writtenInTensor + chunk.length > size) {
      throw new Error(`${this.where}: "${name}" is ${size} bytes but ${this.writtenInTensor + chunk.length} were written`);
    }
    await this.sink.write(chunk);
    this.bytesWritten += chunk.length;
    this.writtenInTensor += chunk.length;
    if (this.writtenInTensor === size) this.advance();
  }

  /** Writes a whole tensor in one call. */
  async writeTensor(name: string, data: ArrayBufferView): Promise<void> {
    const t = this.current;
    if (t && t.name === name && data.byteLength !== t.end - t.begin) {
      throw new Error(`${this.where}: "${name}" is ${t.end - t.begin} bytes (shape ${JSON.stringify(t.shape)} × ${t.dtype}) but got ${data.byteLength}`);
    }
    await this.writeChunk(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Closes the sink; throws (leaving the sink open, for the caller to abort) if any tensor is incomplete. */
  async finish(): Promise<void> {
    await this.ensureHeader();
    const missing = this.layout.tensors.slice(this.index).map((t) => t.name);
    if (missing.length) {
      throw new Error(`${this.where}: finish() with ${missing.length} tensor(s) unwritten or incomplete: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}`);
    }
    await this.sink.close();
  }

  private advance(): void {
    this.index++;
    this.writtenInTensor = 0;
    // Zero-byte tensors need no data call; skip them so callers never have to write empty chunks.
    while (this.current && this.current.end === this.current.begin) this.index++;
  }

  private async ensureHeader(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.sink.write(this.layout.headerBytes);
    this.bytesWritten += this.layout.headerBytes.length;
    while (this.current && this.current.end === this.current.begin) this.index++;
  }
}

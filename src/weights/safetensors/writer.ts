import { SAFETENSORS_DTYPE_BYTES, type SafetensorsDtype } from "./dtypes.ts";

export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian element bytes (a typed array's bytes on every platform we run on). */
  data: ArrayBufferView;
}

/** What a writer needs to know about a tensor before any data is written. */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** The header bytes of a file and where each tensor's data goes. */
export interface SafetensorsLayout {
  /** The 8-byte length prefix followed by the space-padded JSON header. */
  headerBytes: Uint8Array;
  /** Tensors in write order, with byte ranges relative to the start of the data region. */
  tensors: (TensorSpec & { begin: number; end: number })[];
  /** Total file size: header plus every tensor. */
  fileSize: number;
}

/** Element count × dtype size, as a JS number (safe up to 2^53). */
export function tensorByteLength(dtype: SafetensorsDtype, shape: number[]): number {
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
    count *= d;
  }
  return count * SAFETENSORS_DTYPE_BYTES[dtype];
}

/**
 * Lays out a file: JSON header padded with spaces to a multiple of 8 (so tensor data stays 8-byte
 * aligned), tensors contiguous in the order given. Known before any data exists, which is what lets
 * the streaming writer emit the header first.
 */
export function planSafetensorsLayout(specs: TensorSpec[], metadata?: Record<string, string>): SafetensorsLayout {
  // A null-prototype object, so a tensor named "__proto__" is a plain key, not a prototype change.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  const tensors: SafetensorsLayout["tensors"] = [];
  let offset = 0;
  for (const t of specs) {
    if (t.name === "__metadata__") throw new Error(`a tensor cannot be named "__metadata__"`);
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw new Error(`tensor "${t.name}" is listed twice`);
    const bytes = tensorByteLength(t.dtype, t.shape);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    tensors.push({ ...t, begin: offset, end: offset + bytes });
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true);
  headerBytes.set(json, 8);
  return { headerBytes, tensors, fileSize: headerBytes.length + offset };
}

/**
 * Serializes tensors into one safetensors buffer: 8-byte little-endian header length, JSON header,
 * then the tensors contiguous in the order given. Small and medium files only; big models go through
 * `SafetensorsStreamWriter`.
 */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const specs = Object.entries(tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const layout = planSafetensorsLayout(specs, metadata);
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.headerBytes);
  for (const t of layout.tensors) {
    const data = tensors[t.name]!.data;
    if (data.byteLength !== t.end - t.begin) {
      throw new Error(`encodeSafetensors: "${t.name}" has shape ${JSON.stringify(t.shape)} × ${t.dtype} = ${t.end - t.begin} bytes, but ${data.byteLength} bytes of data`);
    }
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), layout.headerBytes.length + t.begin);
  }
  return out;
}

import { SAFETENSORS_DTYPE_BYTES, isSafetensorsDtype, type SafetensorsDtype } from "./dtypes.ts";
import { SafetensorsError } from "./errors.ts";

/** One tensor's entry in a safetensors header; offsets are absolute file offsets. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the first element in the file. */
  start: number;
  /** Absolute byte offset one past the last element. */
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Size of the 8-byte length prefix plus the JSON header: where tensor data begins. */
  dataStart: number;
}

/** Headers beyond this are refused before reading them (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Reads the little-endian u64 header length from the first 8 bytes and checks it against the file size. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, where: string): number {
  if (prefix.length < 8 || fileSize < 8) {
    throw new SafetensorsError(`file is ${fileSize} bytes, shorter than the 8-byte header length`, where);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte cap`, where);
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError(`header length ${n} runs past the end of the ${fileSize}-byte file`, where);
  }
  if (n < 2) throw new SafetensorsError(`header length ${n} is too small to hold a JSON object`, where);
  return n;
}

/**
 * Parses and validates a safetensors header. `headerJson` holds exactly the header bytes (after the
 * 8-byte length). Every tensor must have a known dtype, a shape whose element count times the dtype
 * size equals its byte span, and spans must be in bounds, non-overlapping and together cover the data
 * region exactly (as the format requires).
 */
export function parseSafetensorsHeader(headerJson: Uint8Array, fileSize: number, where: string): SafetensorsHeader {
  const dataStart = 8 + headerJson.length;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerJson));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON (${(e as Error).message})`, where);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SafetensorsError("header JSON is not an object", where);
  }
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(raw, where);
      continue;
    }
    entries.set(name, parseEntry(name, raw, dataStart, dataSize, where));
  }
  checkSpansTile([...entries.values()], dataStart, dataSize, where);
  return { entries, metadata, dataStart };
}

function parseMetadata(raw: unknown, where: string): Record<string, string> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SafetensorsError("__metadata__ is not an object of strings", where);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") throw new SafetensorsError(`__metadata__.${k} is ${typeof v}, expected a string`, where);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, raw: unknown, dataStart: number, dataSize: number, where: string): SafetensorsEntry {
  const at = `${where}: tensor "${name}"`;
  if (raw === null || typeof raw !== "object") throw new SafetensorsError("entry is not an object", at);
  const { dtype, shape, data_offsets } = raw as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError(`unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")}`, at);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, at);
  }
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (!Number.isSafeInteger(count)) throw new SafetensorsError(`shape ${JSON.stringify(shape)} overflows`, at);
  }
  if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(`data_offsets ${JSON.stringify(data_offsets)} is not a pair of non-negative integers`, at);
  }
  const [begin, end] = data_offsets as [number, number];
  if (end < begin) throw new SafetensorsError(`data_offsets [${begin}, ${end}] end before they begin`, at);
  if (end > dataSize) {
    throw new SafetensorsError(`data_offsets end ${end} is past the ${dataSize}-byte data region`, at);
  }
  const bytes = count * SAFETENSORS_DTYPE_BYTES[dtype];
  if (bytes !== end - begin) {
    throw new SafetensorsError(`shape ${JSON.stringify(shape)} × ${dtype} is ${bytes} bytes but data_offsets span ${end - begin}`, at);
  }
  return { name, dtype, shape: shape as number[], start: dataStart + begin, end: dataStart + end };
}

function checkSpansTile(entries: SafetensorsEntry[], dataStart: number, dataSize: number, where: string): void {
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = dataStart;
  for (const e of sorted) {
    if (e.start < cursor) {
      throw new SafetensorsError(`tensor "${e.name}" at [${e.start - dataStart}, ${e.end - dataStart}) overlaps the previous tensor`, where);
    }
    if (e.start > cursor) {
      throw new SafetensorsError(`gap of ${e.start - cursor} bytes before tensor "${e.name}": spans must be contiguous`, where);
    }
    cursor = e.end;
  }
  if (cursor !== dataStart + dataSize) {
    throw new SafetensorsError(`tensor data ends at byte ${cursor - dataStart} but the data region is ${dataSize} bytes`, where);
  }
}

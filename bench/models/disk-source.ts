/**
 * A WeightSource over safetensors files on disk that reads each tensor only when asked. `Unet.load`
 * is synchronous and asks for one tensor at a time (read → widen → upload → drop), so a sync
 * `readSync` of that tensor's byte span keeps the CPU side at one tensor, never the whole 3.5 GB
 * checkpoint (the in-memory `tensorSourceOf` would hold it all).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { WeightSource } from "../../src/models/weights.ts";
import { bytesToFloat32 } from "../../src/weights/safetensors/convert.ts";
import { parseSafetensorsHeader, readHeaderLength, type SafetensorsEntry } from "../../src/weights/safetensors/header.ts";
import { randomTensorChunks } from "../../weights-tools/random-fill.ts";

interface Located extends SafetensorsEntry {
  fd: number;
}

/** Reads exactly `length` bytes at `position` (readSync may return short reads on big spans). */
function readSpan(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new Error(`disk-source: unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return out;
}

function openOne(path: string, into: Map<string, Located>, fds: number[]): void {
  const fd = openSync(path, "r");
  fds.push(fd);
  const size = fstatSync(fd).size;
  const n = readHeaderLength(readSpan(fd, 0, 8), size, path);
  const header = parseSafetensorsHeader(readSpan(fd, 8, n), size, path);
  for (const [name, e] of header.entries) into.set(name, { ...e, fd });
}

/** Opens every `*.safetensors` in a diffusers component folder (single file or shards). */
export function openDiskSource(folder: string): WeightSource & { close(): void; bytesRead: number } {
  const files = readdirSync(folder).filter((f) => f.endsWith(".safetensors")).sort();
  if (!files.length) throw new Error(`disk-source: no .safetensors file in ${folder}`);
  const entries = new Map<string, Located>();
  const fds: number[] = [];
  for (const f of files) openOne(join(folder, f), entries, fds);
  const entry = (n: string) => {
    const e = entries.get(n);
    if (!e) throw new Error(`${folder}: missing tensor "${n}"`);
    return e;
  };
  const src = {
    where: folder,
    bytesRead: 0,
    names: () => [...entries.keys()],
    has: (n: string) => entries.has(n),
    shape: (n: string) => [...entry(n).shape],
    f32: (n: string) => {
      const e = entry(n);
      const bytes = readSpan(e.fd, e.start, e.end - e.start);
      src.bytesRead += bytes.byteLength;
      return bytesToFloat32(e.dtype, bytes);
    },
    close: () => fds.forEach((fd) => closeSync(fd)),
  };
  return src;
}

/** The component's config.json. */
export function readConfig(folder: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as Record<string, unknown>;
}

/**
 * Names and shapes from a config folder's tensors.json ({name: [shape, dtype]}), without weights: enough
 * for byte projections of a model whose random checkpoint is not on disk (f32() throws).
 */
export function shapeOnlySource(folder: string): WeightSource {
  const raw = JSON.parse(readFileSync(join(folder, "tensors.json"), "utf8")) as Record<string, [number[], string]>;
  const names = Object.keys(raw);
  return {
    where: `${folder}/tensors.json`,
    names: () => names,
    has: (n) => n in raw,
    shape: (n) => [...raw[n]![0]],
    f32: (n) => {
      throw new Error(`${folder}/tensors.json: shapes only, no data for "${n}"`);
    },
  };
}

/** make-random's values (f32), generated when asked: no checkpoint on disk. */
export function generatedSource(folder: string): WeightSource {
  const shapes = shapeOnlySource(folder);
  return {
    ...shapes,
    where: `${folder} (generated: make-random values, seed 0)`,
    f32: (name) => {
      const shape = shapes.shape(name);
      const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
      let at = 0;
      for (const chunk of randomTensorChunks(0, name, "F32", shape)) {
        out.set(new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4), at);
        at += chunk.byteLength / 4;
      }
      return out;
    },
  };
}

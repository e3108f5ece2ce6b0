/**
 * Writing and reading qsched quantized packs on Node (format: pack-format.ts). Both stream: the writer
 * reads, quantizes and writes one tensor at a time; the reader returns packed u32 codes and f32
 * scales ready for GPU upload and never dequantizes.
 */
import { QUANT_FORMATS, type QuantFormat, type QuantSchemeId } from "./formats.ts";
import type { PackedWeight } from "./packing.ts";
import {
  encodePlannedTensor,
  indexPackTensors,
  layoutOf,
  packedFromBytes,
  packMetadata,
  parsePackMetadata,
  planPack,
  type FloatTensor,
  type PackInfo,
  type PackPlan,
  type QuantizedTensorLayout,
  type TensorSpec,
} from "./pack-format.ts";
import type { QuantPolicy } from "./policy.ts";
import { renameSync } from "node:fs";
import { removeOnInterrupt } from "../util/interrupt-cleanup.ts";
import { openTensorFile, TensorFileWriter, type TensorFileReader } from "./tensor-file.ts";

export type { FloatTensor } from "./pack-format.ts";

/** Where source tensors come from: their specs in order, and one tensor's bytes on demand. */
export interface TensorSource {
  specs: TensorSpec[];
  read(name: string): Uint8Array;
}

export interface WritePackOptions {
  scheme: QuantSchemeId;
  /** Defaults to the format's (32 for W4A8, 128 for W4A16, per-channel for 8-bit weights). */
  groupSize?: number | "per-channel";
  policy: QuantPolicy;
  sourceModel: string;
  component: string;
  /** Recorded in the pack so loaders can refuse it for another model's config. */
  componentConfig?: Record<string, unknown>;
  /** Called after each tensor (progress). */
  onTensor?: (name: string, quantized: boolean) => void;
}

/** A source over an already-open tensor file (entries in file order). */
export function tensorFileSource(file: TensorFileReader): TensorSource {
  return { specs: file.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: [...e.shape] })), read: (n) => file.read(n) };
}

/**
 * Quantizes `source` into a pack at `outPath`, one tensor in memory at a time. Returns the plan it followed.
 * The pack is written to `<outPath>.partial` and renamed into place when complete: a failure leaves
 * no file behind and whatever was at `outPath` before untouched.
 */
export function writePack(outPath: string, source: TensorSource, opts: WritePackOptions): PackPlan {
  const plan = planPack(source.specs, opts);
  const partial = `${outPath}.partial`;
  const writer = new TensorFileWriter(partial, plan.outputs, packMetadata(plan.info, plan.format));
  const forget = removeOnInterrupt(partial);
  try {
    for (const t of plan.tensors) {
      const parts = encodePlannedTensor(t, plan.format, source.read(t.source.name));
      if (t.kind === "float") writer.write(t.source.name, parts);
      else {
        const names = [t.layout.codes, t.layout.scales, t.layout.zero_points].filter((n): n is string => n !== undefined);
        names.forEach((n, i) => writer.write(n, [parts[i]!]));
      }
      opts.onTensor?.(t.source.name, t.kind === "quantized");
    }
    writer.close();
    renameSync(partial, outPath);
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    forget();
  }
  return plan;
}

/** A pack opened for lazy, per-tensor reads. */
export interface OpenPack {
  info: PackInfo;
  format: QuantFormat;
  /** Original tensor names in file order (quantized ones under their source name). */
  names: string[];
  isQuantized(name: string): boolean;
  /** Packed codes + scales (+ zero points) of one quantized weight, checked against its layout. */
  readQuantized(name: string): PackedWeight & { layout: QuantizedTensorLayout };
  readFloat(name: string): FloatTensor;
  close(): void;
}

export function openPack(path: string): OpenPack {
  const file = openTensorFile(path);
  try {
    const info = parsePackMetadata(file.metadata, path);
    const format = QUANT_FORMATS[info.scheme];
    const { names, packedNames } = indexPackTensors(info, format, file.entries.map((e) => e.name), path);
    const get = (t: string) => {
      const e = file.entry(t);
      return { dtype: e.dtype, shape: [...e.shape], bytes: file.read(t) };
    };
    return {
      info,
      format,
      names,
      isQuantized: (name) => layoutOf(info, name) !== undefined,
      readQuantized(name) {
        const l = layoutOf(info, name);
        if (!l) throw new Error(`${path}: "${name}" is not a quantized tensor of this pack`);
        return { ...packedFromBytes(format, name, l, get), layout: l };
      },
      readFloat(name) {
        if (packedNames.has(name) || layoutOf(info, name)) throw new Error(`${path}: "${name}" is quantized; use readQuantized`);
        return get(name);
      },
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

export interface LoadedPack {
  info: PackInfo;
  format: QuantFormat;
  quantized: Map<string, PackedWeight & { layout: QuantizedTensorLayout }>;
  floats: Map<string, FloatTensor>;
}

/** Reads a whole pack: packed weights ready for upload and float tensors as stored (no float copy of quantized weights). */
export function readPack(path: string): LoadedPack {
  const p = openPack(path);
  try {
    const quantized = new Map<string, PackedWeight & { layout: QuantizedTensorLayout }>();
    const floats = new Map<string, FloatTensor>();
    for (const name of p.names) {
      if (p.isQuantized(name)) quantized.set(name, p.readQuantized(name));
      else floats.set(name, p.readFloat(name));
    }
    return { info: p.info, format: p.format, quantized, floats };
  } finally {
    p.close();
  }
}

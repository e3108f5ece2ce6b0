/**
 * Reading a qsched pack (format: pack-format.ts) over any ByteSource — a Node file, a browser File, a
 * URL with Range requests — through the weights layer's lazy safetensors reader: the header now, each
 * tensor's bytes when asked. Quantized weights come back as packed codes + scales ready for upload;
 * nothing is dequantized. (src/quant/pack.ts is the synchronous Node-file reader the tools use.)
 */
import type { ByteSource } from "../weights/safetensors/byte-source.ts";
import { openSafetensors, type LazyTensor } from "../weights/safetensors/lazy-reader.ts";
import { QUANT_FORMATS, type QuantFormat } from "./formats.ts";
import { indexPackTensors, layoutOf, packedFromBytes, parsePackMetadata, type FloatTensor, type PackInfo, type QuantizedTensorLayout } from "./pack-format.ts";
import type { PackedWeight } from "./packing.ts";

/** A pack opened for lazy, per-tensor reads. */
export interface LazyPack {
  /** File path or URL, for messages. */
  where: string;
  info: PackInfo;
  format: QuantFormat;
  /** Original tensor names in file order (quantized ones under their source name). */
  names: string[];
  isQuantized(name: string): boolean;
  /** The original shape: a quantized weight's as it was before packing ([Cout, Cin, kh, kw] for convs). */
  shape(name: string): number[];
  /** Bytes stored for `name` (codes + scales + zero points of a quantized weight). */
  storedBytes(name: string): number;
  readQuantized(name: string): Promise<PackedWeight & { layout: QuantizedTensorLayout }>;
  readFloat(name: string): Promise<FloatTensor>;
  close(): Promise<void>;
}

/** Opens a pack: reads and checks its header and metadata only. Closes `source` on failure. */
export async function openLazyPack(source: ByteSource, where: string): Promise<LazyPack> {
  try {
    const st = await openSafetensors(source, where);
    const info = parsePackMetadata(st.metadata, where);
    const format = QUANT_FORMATS[info.scheme];
    const { names, packedNames } = indexPackTensors(info, format, [...st.tensors.keys()], where);
    const tensor = (t: string): LazyTensor => {
      const e = st.tensors.get(t);
      if (!e) throw new Error(`${where}: no tensor "${t}"`);
      return e;
    };
    const partsOf = (l: QuantizedTensorLayout) => [l.codes, l.scales, l.zero_points].filter((t): t is string => t !== undefined);
    return {
      where,
      info,
      format,
      names,
      isQuantized: (name) => layoutOf(info, name) !== undefined,
      shape: (name) => [...(layoutOf(info, name)?.shape ?? tensor(name).shape)],
      storedBytes(name) {
        const l = layoutOf(info, name);
        return l ? partsOf(l).reduce((a, t) => a + tensor(t).byteLength, 0) : tensor(name).byteLength;
      },
      async readQuantized(name) {
        const l = layoutOf(info, name);
        if (!l) throw new Error(`${where}: "${name}" is not a quantized tensor of this pack`);
        const got = new Map<string, FloatTensor>();
        for (const t of partsOf(l)) {
          const e = tensor(t);
          got.set(t, { dtype: e.dtype, shape: [...e.shape], bytes: await e.read() });
        }
        return { ...packedFromBytes(format, name, l, (t) => got.get(t)!), layout: l };
      },
      async readFloat(name) {
        if (packedNames.has(name) || layoutOf(info, name)) throw new Error(`${where}: "${name}" is quantized; use readQuantized`);
        const e = tensor(name);
        return { dtype: e.dtype, shape: [...e.shape], bytes: await e.read() };
      },
      close: async () => {
        await source.close?.();
      },
    };
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

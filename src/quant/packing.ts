/**
 * Packs integer weight codes into the u32 words the GPU reads (layout documented in formats.ts)
 * and unpacks them again. A PackedWeight is what a pack file stores and what gets uploaded.
 */
import {
  INT4_CODES_PER_WORD,
  int4NibbleOffset,
  wordsPerRow,
  type QuantFormat,
} from "./formats.ts";
import { dequantizeBlocks, type QuantizedBlocks } from "./quantize.ts";

/** A quantized [N, K] weight in GPU storage layout. */
export interface PackedWeight {
  format: QuantFormat;
  n: number;
  k: number;
  groupSize: number;
  /** [N, wordsPerRow(format, K)] u32 words. */
  words: Uint32Array;
  /** [N, K / groupSize] float32. */
  scales: Float32Array;
  /** [N, K / groupSize] float32 for formats that store zero points, else null. */
  zeroPoints: Float32Array | null;
}

/** Packs codes of one row-major [n, k] matrix: int8 four per word, int4 eight per word (low nibble first). */
export function packCodes(format: QuantFormat, codes: Int8Array, n: number, k: number): Uint32Array {
  if (codes.length !== n * k) throw new Error(`packCodes: expected ${n}×${k} codes, got ${codes.length}`);
  const wpr = wordsPerRow(format, k);
  const words = new Uint32Array(n * wpr);
  const { qmin, qmax } = format.weight;
  if (format.weight.bits === 4) {
    if (k % INT4_CODES_PER_WORD !== 0) throw new Error(`packCodes: int4 rows need K a multiple of ${INT4_CODES_PER_WORD}, got ${k}`);
    const offset = int4NibbleOffset(format);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const code = codes[r * k + c] as number;
        if (code < qmin || code > qmax) throw new Error(`packCodes: code ${code} at [${r}, ${c}] is outside ${qmin}..${qmax}`);
        const w = r * wpr + (c >> 3);
        words[w] = ((words[w] as number) | ((code + offset) << (4 * (c & 7)))) >>> 0;
      }
    }
  } else {
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const code = codes[r * k + c] as number;
        if (code < qmin || code > qmax) throw new Error(`packCodes: code ${code} at [${r}, ${c}] is outside ${qmin}..${qmax}`);
        const w = r * wpr + (c >> 2);
        words[w] = ((words[w] as number) | ((code & 0xff) << (8 * (c & 3)))) >>> 0;
      }
    }
  }
  return words;
}

/** Inverse of packCodes (the padding of int8 rows is dropped). */
export function unpackCodes(format: QuantFormat, words: Uint32Array, n: number, k: number): Int8Array {
  const wpr = wordsPerRow(format, k);
  if (words.length !== n * wpr) throw new Error(`unpackCodes: expected ${n}×${wpr} words for K = ${k}, got ${words.length}`);
  const codes = new Int8Array(n * k);
  if (format.weight.bits === 4) {
    const offset = int4NibbleOffset(format);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const nibble = ((words[r * wpr + (c >> 3)] as number) >>> (4 * (c & 7))) & 0xf;
        codes[r * k + c] = nibble - offset;
      }
    }
  } else {
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        // Int8Array assignment wraps 128..255 to −128..−1 (two's complement), as the GPU sign-extends.
        codes[r * k + c] = ((words[r * wpr + (c >> 2)] as number) >>> (8 * (c & 3))) & 0xff;
      }
    }
  }
  return codes;
}

/** Packs a quantized weight for upload/storage. */
export function packWeight(format: QuantFormat, q: QuantizedBlocks): PackedWeight {
  return {
    format,
    n: q.rows,
    k: q.cols,
    groupSize: q.groupSize,
    words: packCodes(format, q.codes, q.rows, q.cols),
    scales: q.scales,
    zeroPoints: format.storesWeightZeroPoint ? q.zeroPoints : null,
  };
}

/** Back to codes + scales + zero points (integer zero points of the symmetric formats are 0). */
export function unpackWeight(p: PackedWeight): QuantizedBlocks {
  return {
    rows: p.n,
    cols: p.k,
    groupSize: p.groupSize,
    codes: unpackCodes(p.format, p.words, p.n, p.k),
    scales: p.scales,
    zeroPoints: p.zeroPoints ?? new Float32Array(p.scales.length),
  };
}

/** Float32 weight [N, K] as the kernels see it (same arithmetic as dequantizeBlocks). */
export function dequantizePacked(p: PackedWeight): Float32Array {
  return dequantizeBlocks(unpackWeight(p), p.format.weight);
}

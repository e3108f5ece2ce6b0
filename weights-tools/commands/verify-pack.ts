/**
 * weights-tools verify-pack <pack.safetensors> <diffusers-folder> [--component NAME] [--variant fp16] [--quiet]
 * Checks a qsched pack against the model it was made from: every source tensor must be in the pack
 * with the same shape (float-kept ones with the same dtype and bytes). For each quantized weight it
 * prints the dequantization error (max abs, rel RMS = ‖deq − w‖₂ / ‖w‖₂) and how many packed code words differ from
 * a fresh CPU re-quantization (0 for packs written by `quantize`). Exit 1 on any name, shape, dtype
 * or float-byte mismatch.
 */
import { bytesToFloat32 } from "../../src/weights/safetensors/convert.ts";
import { openPack } from "../../src/quant/pack.ts";
import { dequantizePacked, packWeight } from "../../src/quant/packing.ts";
import { quantizeWeight } from "../../src/quant/quantize.ts";
import { openComponentSource } from "../../src/quant/component-source.ts";

export const USAGE = `usage: weights-tools verify-pack <pack.safetensors> <diffusers-folder> [--component NAME] [--variant fp16] [--quiet]
  --component defaults to the one recorded in the pack; --quiet prints only problems and the summary.`;

export interface TensorStats {
  maxAbs: number;
  relRms: number;
  codeMismatches: number;
}

/** Dequantization error of one weight against its float source, and code agreement with a re-quantization. */
export function dequantStats(deq: Float32Array, ref: Float32Array, storedWords: Uint32Array, requantWords: Uint32Array): TensorStats {
  let maxAbs = 0;
  let se = 0;
  let sr = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = (deq[i] as number) - (ref[i] as number);
    maxAbs = Math.max(maxAbs, Math.abs(d));
    se += d * d;
    sr += (ref[i] as number) ** 2;
  }
  let codeMismatches = 0;
  // Counted per u32 word: a word differs when any code in it differs.
  for (let i = 0; i < storedWords.length; i++) if (storedWords[i] !== requantWords[i]) codeMismatches++;
  return { maxAbs, relRms: sr > 0 ? Math.sqrt(se / sr) : Math.sqrt(se), codeMismatches };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const positional: string[] = [];
  let component: string | undefined;
  let variant: string | undefined;
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--component" || a === "--variant") {
      const v = args[++i];
      if (v === undefined) return usage(`${a} expects a value`);
      if (a === "--component") component = v;
      else variant = v;
    } else if (a === "--quiet") quiet = true;
    else if (a.startsWith("--")) return usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) return usage(`expected <pack> and <diffusers-folder>, got ${positional.length} arguments`);
  const [packPath, folder] = positional as [string, string];

  let problems = 0;
  const problem = (line: string) => {
    problems++;
    console.log(`MISMATCH ${line}`);
  };
  try {
    const pack = openPack(packPath);
    const comp = await openComponentSource(folder, component ?? pack.info.component, variant);
    let worstRel = 0;
    let worstName = "";
    let quantized = 0;
    try {
      const packNames = new Set(pack.names);
      const sourceNames = new Set(comp.source.specs.map((s) => s.name));
      for (const n of pack.names) if (!sourceNames.has(n)) problem(`${n}: in the pack, not in the source`);
      for (const spec of comp.source.specs) {
        if (!packNames.has(spec.name)) {
          problem(`${spec.name}: in the source, not in the pack`);
          continue;
        }
        if (!pack.isQuantized(spec.name)) {
          const t = pack.readFloat(spec.name);
          if (t.dtype !== spec.dtype || t.shape.join(",") !== spec.shape.join(",")) {
            problem(`${spec.name}: pack has ${t.dtype} [${t.shape}], source ${spec.dtype} [${spec.shape}]`);
          } else if (!Buffer.from(t.bytes).equals(Buffer.from(comp.source.read(spec.name)))) {
            problem(`${spec.name}: float-kept bytes differ from the source`);
          }
          continue;
        }
        const w = pack.readQuantized(spec.name);
        if (w.layout.shape.join(",") !== spec.shape.join(",")) {
          problem(`${spec.name}: pack layout shape [${w.layout.shape}], source [${spec.shape}]`);
          continue;
        }
        const ref = bytesToFloat32(spec.dtype, comp.source.read(spec.name));
        const gs = pack.format.defaultGroupSize === "per-channel" ? "per-channel" : w.groupSize;
        const requant = packWeight(pack.format, quantizeWeight(ref, w.n, w.k, pack.format, gs));
        const s = dequantStats(dequantizePacked(w), ref, w.words, requant.words);
        quantized++;
        if (s.relRms > worstRel) [worstRel, worstName] = [s.relRms, spec.name];
        if (!quiet || s.codeMismatches > 0) {
          console.log(`${spec.name} [${w.n}×${w.k}] max_abs=${s.maxAbs.toExponential(3)} rel_rms=${s.relRms.toExponential(3)} code_words_differing=${s.codeMismatches}`);
        }
      }
    } finally {
      comp.close();
      pack.close();
    }
    console.log(
      `${pack.info.scheme} pack of ${pack.info.sourceModel}/${pack.info.component}: ${quantized} quantized tensors checked, ` +
        `worst rel_rms ${worstRel.toExponential(3)}${worstName ? ` (${worstName})` : ""}; ${problems} mismatches`,
    );
    return problems === 0 ? 0 : 1;
  } catch (e) {
    console.error(`weights-tools verify-pack: ${(e as Error).message}`);
    return 1;
  }
}

function usage(msg: string): number {
  console.error(`weights-tools verify-pack: ${msg}\n${USAGE}`);
  return 2;
}

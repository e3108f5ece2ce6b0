/**
 * Verifier kind "taesd": decodes each manifest case's stored `latents` with our AutoencoderTiny decoder
 * (weights from `<folder>/<flavour>/`) and compares `decoder_out` and `image` = (out/2 + 0.5).clamp(0, 1).
 * Manifest: `cases[]` of {file, flavour}; file names carry no meaning.
 */
import { join } from "node:path";
import { Gpu } from "../../gpu/runtime.ts";
import { TaesdDecoder } from "../../models/taesd/taesd.ts";
import { readSafetensorsFileSync } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import { componentSource, readJson } from "../pipeline/component-source.ts";
import { F16_ACTIVATION_TOL } from "../f16-bounds.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";

/** README: ≤ 1e-5 relative in float32 (measured ~1e-6: the tanh clamp is built from sigmoid). */
export const TAESD_TOL = 1e-5;

interface TaesdCase {
  file: string;
  flavour: string;
}

function taesdCases(manifest: Manifest): TaesdCase[] {
  if (!Array.isArray(manifest.cases)) throw new Error('taesd manifest has no "cases" list');
  return manifest.cases.map((c, i) => {
    const r = c as Partial<TaesdCase>;
    for (const key of ["file", "flavour"] as const) {
      if (typeof r[key] !== "string") throw new Error(`taesd manifest cases[${i}].${key} is ${JSON.stringify(r[key])}, expected a string`);
    }
    return r as TaesdCase;
  });
}

/** Runs every case of a taesd fixture folder on `gpu`. */
export async function runTaesdCases(gpu: Gpu, folder: string, manifest: Manifest, tol = TAESD_TOL, log?: (l: string) => void, dtype: "f32" | "f16" = "f32"): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const decoders = new Map<string, TaesdDecoder>();
  try {
    for (const c of taesdCases(manifest)) {
      let dec = decoders.get(c.flavour);
      if (!dec) {
        const dir = join(folder, c.flavour);
        dec = TaesdDecoder.load(gpu, componentSource(dir), readJson(join(dir, "config.json")), { dtype });
        decoders.set(c.flavour, dec);
      }
      const st = readSafetensorsFileSync(join(folder, c.file));
      gpu.flush();
      const z = gpu.upload(st.f32("latents"), st.shape("latents"), "f32", "latents");
      const out = await dec.decode(z);
      const got = await gpu.read(out);
      const shapeOk = out.shape.join() === st.shape("decoder_out").join();
      z.dispose();
      out.dispose();
      const errOut = shapeOk ? relativeMaxError(got, st.f32("decoder_out")) : Infinity;
      results.push({ name: `${c.file} decoder_out`, ok: errOut <= tol, error: errOut, detail: shapeOk ? `max-rel ${errOut.toExponential(2)} (tol ${tol})` : `shape [${out.shape}] vs stored [${st.shape("decoder_out")}]` });
      if (st.entries.has("image") && shapeOk) {
        const image = got.map((v) => Math.min(1, Math.max(0, v / 2 + 0.5)));
        const errImg = relativeMaxError(image, st.f32("image"));
        results.push({ name: `${c.file} image`, ok: errImg <= tol, error: errImg, detail: `max-rel ${errImg.toExponential(2)} (tol ${tol})` });
      }
      log?.(`taesd ${c.file}: decoder_out ${errOut.toExponential(2)}`);
    }
  } finally {
    for (const d of decoders.values()) d.dispose();
  }
  return results;
}

const kind: VerifyKind = {
  kind: "taesd",
  defaultTol: TAESD_TOL,
  needsGpu: true,
  dtypes: ["f32", "f16"],
  async run(folder: string, manifest: Manifest, opts: VerifyOptions) {
    const f16 = opts.dtype === "f16";
    return runTaesdCases(await Gpu.create(), folder, manifest, opts.tol ?? (f16 ? F16_ACTIVATION_TOL : undefined), opts.log, opts.dtype);
  },
};
export default kind;

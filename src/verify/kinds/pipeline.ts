import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Gpu } from "../../gpu/runtime.ts";
import { runTextEncoderActivations } from "../pipeline/text-encoder-activations.ts";
import { runTraces } from "../pipeline/traces.ts";
import { runUnetActivations } from "../pipeline/unet-activations.ts";
import { runVaeDecoderActivations } from "../pipeline/vae-activations.ts";
import { F16_ACTIVATION_TOL } from "../f16-bounds.ts";
import type { CaseResult, VerifyKind } from "../types.ts";

/**
 * A tiny pipeline folder (diffusers layout) whose manifest lists `parts`: activations parts (one
 * call per model, per-layer tensors) and traces parts (whole generations). Every part is run; a
 * part of an unknown kind fails as "cannot run".
 */
const pipelineKind: VerifyKind = {
  kind: "pipeline",
  defaultTol: 1e-4,
  needsGpu: true,
  dtypes: ["f32", "f16"],
  async run(folder, manifest, opts) {
    const dtype = opts.dtype ?? "f32";
    // f16: float parts default to the f16 bounds; quantized parts keep theirs (f16 meets them too).
    const floatTol = opts.tol ?? (dtype === "f16" ? F16_ACTIVATION_TOL : undefined);
    const parts = (manifest.parts ?? {}) as Record<string, string>;
    if (!Object.keys(parts).length) throw new Error(`pipeline manifest in ${folder} lists no "parts"`);
    const gpu = await Gpu.create();
    const results: CaseResult[] = [];
    for (const [part, manifestPath] of Object.entries(parts)) {
      opts.log?.(`pipeline: part ${part}`);
      try {
        if (part.startsWith("traces")) {
          results.push(...(await runTraces(folder, manifestPath, opts.tol, opts.log, dtype)));
        } else if (part.startsWith("activations")) {
          const m = JSON.parse(readFileSync(join(folder, manifestPath), "utf8")) as Record<string, unknown>;
          const files = Object.keys(m).filter((k) => k.endsWith(".safetensors"));
          const unetTol = part === "activations" ? floatTol : opts.tol;
          if (files.some((f) => f.startsWith("unet"))) results.push(...(await runUnetActivations(gpu, folder, part, unetTol, { dtype })));
          if (part === "activations") {
            if (files.some((f) => f.startsWith("text_encoder"))) results.push(...(await runTextEncoderActivations(gpu, folder, floatTol, { dtype })));
            if (files.some((f) => f.startsWith("vae"))) results.push(...(await runVaeDecoderActivations(gpu, folder, floatTol, { dtype })));
          }
        } else {
          results.push({ name: `${part}`, ok: false, detail: `cannot run: unknown part kind "${part}"` });
        }
      } catch (e) {
        results.push({ name: part, ok: false, detail: `error: ${(e as Error).message}` });
      }
    }
    return results;
  },
};
export default pipelineKind;

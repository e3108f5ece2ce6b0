/**
 * Verifier kind "clip": runs our CLIP text and vision towers (one CLIPModel checkpoint) on the fixture's
 * cases. Text: `input_ids` (and the "!"-padded ids) → hidden_states, last_hidden_state, pooler_output,
 * text_embeds (+ normalized). Images: our Pillow-exact preprocessing of the raw uint8 images
 * (`cropped_uint8_image_2`, `pixel_values`), then the tower on the stored `pixel_values` → patch_embeds,
 * embeddings, pre_layrnorm, hidden_states, pooler_output, image_embeds (+ normalized).
 * The float-[0,1] input path (`pixel_values_float01_image_1`, from image_1 / 255) is checked when stored.
 * Not covered: `last_hidden_state_masked` (attention_mask; diffusers never passes one).
 */
import { join } from "node:path";
import { Gpu } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { ClipTextModel } from "../../models/clip-text/clip-text.ts";
import { ClipVisionModel } from "../../models/clip-vision/clip-vision.ts";
import { clipPixelValues, clipPixelValuesFromFloat01, resizeAndCrop } from "../../models/clip-vision/preprocess.ts";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import { componentSource, readJson } from "../pipeline/component-source.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";

/** README: atol 1e-4 on hidden states / embeddings of an f32 implementation (values O(1)); measured ~1e-6. */
export const CLIP_TOL = 1e-4;
/** README: 1e-5 on normalized embeddings. */
export const CLIP_NORMALIZED_TOL = 1e-5;

export interface ClipCaseOptions {
  tol?: number;
  /** Text rows to run (default all); each row runs alone (the one-hot embedding input is [L, vocab]). */
  textRows?: readonly number[];
  /** Image rows to run through the tower (default all). */
  imageRows?: readonly number[];
  log?: (line: string) => void;
}

const rowOf = (t: Float32Array, rows: number, r: number) => t.subarray((t.length / rows) * r, (t.length / rows) * (r + 1));

function normalized(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** Runs the fixture folder's text and image cases on `gpu`. */
export async function runClipCases(gpu: Gpu, folder: string, opts: ClipCaseOptions = {}): Promise<CaseResult[]> {
  const tol = opts.tol ?? CLIP_TOL;
  const config = readJson(join(folder, "config.json"));
  const source = componentSource(folder, ((config.text_config as Record<string, unknown>)?.vocab_size as number) ?? 49408);
  const results: CaseResult[] = [];
  const push = (name: string, got: Float32Array, ref: Float32Array, bound: number) => {
    const err = relativeMaxError(got, ref);
    results.push({ name, ok: err <= bound, error: err, detail: `max-rel ${err.toExponential(2)} (tol ${bound})` });
  };
  const text = readSafetensorsFileSync(join(folder, "text_cases.safetensors"));
  const textModel = ClipTextModel.load(gpu, source, config);
  try {
    const n = text.shape("input_ids")[0]!;
    for (const r of opts.textRows ?? [...Array(n).keys()]) {
      for (const suffix of ["", "_pad_bang"]) {
        if (!text.entries.has(`input_ids${suffix}`)) continue;
        const ids = [...rowOf(Float32Array.from(text.typed(`input_ids${suffix}`) as Int32Array), n, r)];
        const layersRef = text.f32("hidden_states");
        const perRow = layersRef.length / n;
        const hiddenCount = textModel.config.numLayers + 1;
        const hook = async (module: string, t: Tensor) => {
          if (suffix) return;
          const i = module === "embeddings" ? 0 : module.startsWith("layers.") ? Number(module.slice(7)) + 1 : -1;
          if (i >= 0) push(`text row ${r} hidden_states[${i}]`, await gpu.read(t), layersRef.subarray(r * perRow + (i * perRow) / hiddenCount, r * perRow + ((i + 1) * perRow) / hiddenCount), tol);
        };
        gpu.flush();
        const out = await textModel.forward([ids], { hook });
        push(`text row ${r} last_hidden_state${suffix}`, await gpu.read(out.lastHiddenState), rowOf(text.f32(`last_hidden_state${suffix}`), n, r), tol);
        const embeds = await gpu.read(out.textEmbeds!);
        if (!suffix) {
          push(`text row ${r} pooler_output`, await gpu.read(out.pooled), rowOf(text.f32("pooler_output"), n, r), tol);
          push(`text row ${r} text_embeds_normalized`, normalized(embeds), rowOf(text.f32("text_embeds_normalized"), n, r), CLIP_NORMALIZED_TOL);
        }
        push(`text row ${r} text_embeds${suffix}`, embeds, rowOf(text.f32(`text_embeds${suffix}`), n, r), tol);
        out.dispose();
      }
      opts.log?.(`clip text row ${r} done`);
    }
  } finally {
    textModel.dispose();
  }
  results.push(...(await runImageCases(gpu, folder, config, source, tol, opts)));
  return results;
}

async function runImageCases(gpu: Gpu, folder: string, config: Record<string, unknown>, source: ReturnType<typeof componentSource>, tol: number, opts: ClipCaseOptions): Promise<CaseResult[]> {
  const img = readSafetensorsFileSync(join(folder, "image_cases.safetensors"));
  const results: CaseResult[] = [];
  const push = (name: string, got: Float32Array, ref: Float32Array, bound: number) => {
    const err = relativeMaxError(got, ref);
    results.push({ name, ok: err <= bound, error: err, detail: `max-rel ${err.toExponential(2)} (tol ${bound})` });
  };
  const image = (st: LoadedSafetensors, name: string) => {
    const [height, width] = st.shape(name) as [number, number];
    return { data: st.typed(name) as Uint8Array, height, width };
  };
  // Without stored pixel_values (the shipped subset) the tower runs on our own preprocessing of image_i.
  const storedPixels = img.entries.has("pixel_values");
  const n = storedPixels ? img.shape("pixel_values")[0]! : [...img.entries.keys()].filter((k) => /^image_\d+$/.test(k)).length;
  const pixelsRef = storedPixels ? img.f32("pixel_values") : new Float32Array(0);
  const ours: Float32Array[] = [];
  if (img.entries.has("cropped_uint8_image_2") && img.entries.has("image_2")) {
    const crop = resizeAndCrop(image(img, "image_2"));
    const ref = img.typed("cropped_uint8_image_2") as Uint8Array;
    const diff = ref.reduce((c, v, i) => c + (v !== crop.data[i] ? 1 : 0), 0);
    results.push({ name: "image_2 resize + center crop (uint8)", ok: diff === 0, error: diff, detail: `${diff} of ${ref.length} bytes differ from Pillow's` });
  }
  for (let i = 0; i < n; i++) {
    if (!img.entries.has(`image_${i}`)) continue;
    ours[i] = clipPixelValues(image(img, `image_${i}`));
    // Pixel values must be bit-exact with the processor (same uint8 crop, same float32 roundings).
    if (storedPixels) push(`image_${i} pixel_values`, ours[i]!, rowOf(pixelsRef, n, i), 0);
  }
  let float01: Float32Array | undefined;
  if (img.entries.has("pixel_values_float01_image_1") && img.entries.has("image_1")) {
    const u8 = image(img, "image_1");
    // The fixture's float input is image_1 / 255 in float32 (torch's uint8 / data_range).
    float01 = clipPixelValuesFromFloat01(Float32Array.from(u8.data, (v) => Math.fround(v / 255)), u8.height, u8.width);
    push("image_1 as float [0,1]: pixel_values", float01, img.f32("pixel_values_float01_image_1"), 0);
  }
  const model = ClipVisionModel.load(gpu, source, config);
  try {
    const hiddenCount = model.config.numLayers + 1;
    for (const r of opts.imageRows ?? [...Array(n).keys()]) {
      const refFor: Record<string, Float32Array> = {};
      for (const name of ["patch_embeds", "embeddings", "pre_layrnorm"]) if (img.entries.has(name)) refFor[name] = rowOf(img.f32(name), n, r);
      const hs = rowOf(img.f32("hidden_states"), n, r);
      for (let l = 0; l < model.config.numLayers; l++) refFor[`layers.${l}`] = rowOf(hs, hiddenCount, l + 1);
      refFor.pooler_output = rowOf(img.f32("pooler_output"), n, r);
      refFor.image_embeds = rowOf(img.f32("image_embeds"), n, r);
      gpu.flush();
      const s = model.config.imageSize;
      const pixels = gpu.upload(storedPixels ? rowOf(pixelsRef, n, r) : ours[r]!, [1, model.config.channels, s, s], "f32", "pixel_values");
      const out = await model.forward(pixels, {
        hook: async (module, t) => {
          const ref = refFor[module];
          if (ref) push(`image row ${r} ${module}`, await gpu.read(t), ref, tol);
        },
      });
      push(`image row ${r} image_embeds_normalized`, normalized(await gpu.read(out.imageEmbeds)), rowOf(img.f32("image_embeds_normalized"), n, r), CLIP_NORMALIZED_TOL);
      out.dispose();
      pixels.dispose();
    }
    if (float01 && img.entries.has("image_embeds_float01_image_1")) {
      gpu.flush();
      const s = model.config.imageSize;
      const pixels = gpu.upload(float01, [1, model.config.channels, s, s], "f32", "pixel_values_float01");
      const out = await model.forward(pixels);
      push("image_1 as float [0,1]: image_embeds", await gpu.read(out.imageEmbeds), img.f32("image_embeds_float01_image_1"), tol);
      out.dispose();
      pixels.dispose();
    }
  } finally {
    model.dispose();
  }
  return results;
}

const kind: VerifyKind = {
  kind: "clip",
  defaultTol: CLIP_TOL,
  needsGpu: true,
  async run(folder: string, _manifest: Manifest, opts: VerifyOptions) {
    return runClipCases(await Gpu.create(), folder, { tol: opts.tol, log: opts.log });
  },
};
export default kind;

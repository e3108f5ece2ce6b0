/**
 * The real `ImageScorer`: our GPU CLIP towers. Image embeds = visual_projection(post-LN class token) of the
 * CLIPImageProcessor-preprocessed image (on the GPU: `clipPreprocess` reads the pipeline's RGBA8 tensor when the
 * image carries one, else the uploaded RGBA bytes); text embeds = text_projection(pooled EOS row).
 *
 * Loading (float, quantized at load, or from a pack) is in clip-scorer-load.ts.
 *
 * A scorer folder may ship without its text tower (the toy's `clip-scorer/` keeps only `vision_model.*`,
 * `visual_projection.weight`, `text_projection.weight`, `logit_scale`, because its text tower is the pipeline's
 * text_encoder bit for bit). Then the `text_model.*` weights and the tokenizer come from `textTowerFolder`.
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { torchmetricsTextBatch } from "../tokenizer/torchmetrics-batch.ts";
import { CLIP_MEAN, CLIP_STD } from "../models/clip-vision/preprocess.ts";
import { clipPreprocess } from "../ops/clip-preprocess.ts";
import type { QuantScheme } from "../pipeline/types.ts";
import type { PackInfo } from "../quant/pack-format.ts";
import { CLIPTokenizer } from "../tokenizer/clip-tokenizer.ts";
import { locateFolder, type WeightSource as FileSource } from "../weights/sources/types.ts";
import type { CandidateImage, ImageScorer } from "./image-scorer.ts";
import { checkScorerOptions, loadScorerTowers, resolveSource, type ClipScorerOptions, type PipelineSource } from "./clip-scorer-load.ts";

export type { ClipScorerOptions } from "./clip-scorer-load.ts";

/** Rows per text forward: bounds the [B, 77, D] activations; prompt sets are embedded once, so this is not tuned. */
const TEXT_BATCH = 16;
/** Images per vision forward; small images, so this only bounds activation memory for large batches. */
const IMAGE_BATCH = 16;

/** The CLIPImageProcessor settings the scorer applies (preprocessor_config.json, transformers defaults where absent). */
export interface ClipProcessorSettings {
  /** Shortest edge after the resize, then the center crop edge. */
  shortestEdge: number;
  crop: number;
  mean: readonly number[];
  std: readonly number[];
}

export interface ClipScorer extends ImageScorer {
  /** Processor settings the images are brought to (shortest edge, center crop, normalization). */
  readonly imageSize: ClipProcessorSettings;
  /** The quantization in effect: the requested one, or a pack's own. */
  readonly quant: QuantScheme;
  /** The pack the weights came from (location and metadata), or null for float weights. */
  readonly pack: { location: string; info: PackInfo } | null;
  /** GPU bytes of both towers' weights (codes, scales and float tensors). */
  readonly weightBytes: number;
  dispose(): void;
}

async function readJson(src: FileSource, path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await src.readText(path)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`CLIP scorer: ${src.locate(path)}: ${(e as Error).message}`);
  }
}

/** The CLIPImageProcessor settings, with the transformers defaults (224, OpenAI mean/std) when the file or a field is missing. */
async function processorSizes(src: FileSource): Promise<ClipProcessorSettings> {
  const defaults = { mean: [...CLIP_MEAN], std: [...CLIP_STD] };
  if (!(await src.exists("preprocessor_config.json"))) return { shortestEdge: 224, crop: 224, ...defaults };
  const p = await readJson(src, "preprocessor_config.json");
  // What the GPU preprocessing does (CLIPImageProcessor's defaults): anything else is refused, not ignored.
  const unsupported = (key: string, ok: boolean) => {
    if (!ok) throw new Error(`CLIP scorer: preprocessor_config.json ${key} ${JSON.stringify(p[key])} is not supported (bicubic resize of the shortest edge, center crop, rescale by 1/255)`);
  };
  unsupported("do_resize", p.do_resize === undefined || p.do_resize === true);
  unsupported("do_center_crop", p.do_center_crop === undefined || p.do_center_crop === true);
  unsupported("do_rescale", p.do_rescale === undefined || p.do_rescale === true);
  unsupported("do_normalize", p.do_normalize === undefined || p.do_normalize === true);
  unsupported("resample", p.resample === undefined || p.resample === 3);
  unsupported("rescale_factor", p.rescale_factor === undefined || Math.abs((p.rescale_factor as number) - 1 / 255) < 1e-12);
  unsupported("size", p.size === undefined || typeof p.size === "number" || (typeof p.size === "object" && p.size !== null && "shortest_edge" in p.size));
  const size = p.size as { shortest_edge?: number } | number | undefined;
  const crop = p.crop_size as { height?: number; width?: number } | number | undefined;
  const shortestEdge = typeof size === "number" ? size : (size?.shortest_edge ?? 224);
  const c = typeof crop === "number" ? crop : (crop?.height ?? 224);
  if (typeof crop === "object" && crop.width !== undefined && crop.width !== c) throw new Error(`CLIP scorer: non-square crop_size ${JSON.stringify(crop)} is not supported`);
  const triple = (v: unknown, name: string, fallback: number[]) => {
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number")) throw new Error(`CLIP scorer: ${name} must be 3 numbers, found ${JSON.stringify(v)}`);
    return v as number[];
  };
  return { shortestEdge, crop: c, mean: triple(p.image_mean, "image_mean", defaults.mean), std: triple(p.image_std, "image_std", defaults.std) };
}

/** The tokenizer in the first of `candidates` (source, folder) that holds vocab.json and merges.txt. */
async function findTokenizer(candidates: readonly [FileSource, string][]): Promise<CLIPTokenizer> {
  for (const [src, folder] of candidates) {
    const at = (f: string) => (folder ? `${folder}/${f}` : f);
    if ((await src.exists(at("vocab.json"))) && (await src.exists(at("merges.txt")))) {
      // Pad token left at the default: the text tower is causal and pools at the EOS, so what follows the EOS
      // never changes text_embeds (toy model card; the "!"-padded fixture rows check the same).
      return CLIPTokenizer.fromFiles(await src.readText(at("vocab.json")), await src.readText(at("merges.txt")));
    }
  }
  throw new Error(`CLIP scorer: no tokenizer (vocab.json + merges.txt) in ${candidates.map(([s, f]) => locateFolder(s, f)).join(", ")}`);
}

/** The image's RGBA8 pixels as a [1, H, W] u32 tensor: its own GPU copy when it has one, else an upload of `data`. */
function rgbaTensor(gpu: Gpu, img: CandidateImage): { t: Tensor; owned: boolean } {
  if (img.rgba) {
    const [n, h, w] = img.rgba.shape;
    if (img.rgba.dtype !== "u32" || n !== 1 || h !== img.height || w !== img.width) throw new Error(`CLIP scorer: image.rgba ${img.rgba} is not [1, ${img.height}, ${img.width}] u32`);
    return { t: img.rgba, owned: false };
  }
  const d = img.data;
  if (!(Number.isInteger(img.width) && img.width > 0 && Number.isInteger(img.height) && img.height > 0)) {
    throw new Error(`CLIP scorer: image size must be positive integers, found ${img.width}×${img.height}`);
  }
  // Exactly RGBA8: RGB bytes (3 per pixel) would be read as other pixels, a view past its end as neighbours' bytes.
  if (d.length !== img.width * img.height * 4) {
    throw new Error(`CLIP scorer: a ${img.width}×${img.height} image needs ${img.width * img.height * 4} RGBA bytes, found ${d.length}`);
  }
  // RGBA bytes are the little-endian u32 words the kernel unpacks (R in the low byte).
  const words = d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, img.width * img.height) : new Uint32Array(Uint8Array.from(d).buffer);
  return { t: gpu.upload(words, [1, img.height, img.width], "u32", "clip_rgba8"), owned: true };
}

/**
 * Images (RGBA) → CLIP pixel_values [N, 3, crop, crop] on the GPU, resized/cropped/normalized as the processor
 * does (`clipPreprocess`; bit-exact with transformers' PIL path). Images may differ in size.
 */
export async function imagePixelTensor(gpu: Gpu, images: readonly CandidateImage[], settings: ClipProcessorSettings): Promise<Tensor> {
  const s = settings.crop;
  const out = gpu.empty([images.length, 3, s, s], "f32", "clip_pixel_values");
  try {
    for (const [at, img] of images.entries()) {
      const { t, owned } = rgbaTensor(gpu, img);
      try {
        await clipPreprocess(gpu, t, { size: settings.shortestEdge, crop: s, mean: settings.mean, std: settings.std, into: { out, at } });
      } finally {
        if (owned) t.dispose();
      }
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * Loads a CLIP scorer from a CLIPModel folder, URL or picked files (config.json with text_config/vision_config,
 * model.safetensors or a pack model.qpack.safetensors, preprocessor_config.json, optionally tokenizer files),
 * streaming tensor by tensor. When it has no `text_model.*` weights, `textTowerFolder` (the third argument, or
 * `opts.textTowerFolder`) must name the pipeline (or its text_encoder folder) whose text encoder is the tower.
 * `quant` quantizes both towers' linears at load as the pipeline's models are (see ClipScorerOptions).
 */
export async function loadClipScorer(gpu: Gpu, clipSource: PipelineSource, textTowerOrOptions?: string | ClipScorerOptions): Promise<ClipScorer> {
  const opts: ClipScorerOptions = typeof textTowerOrOptions === "string" ? { textTowerFolder: textTowerOrOptions } : (textTowerOrOptions ?? {});
  checkScorerOptions(opts);
  const src = await resolveSource(clipSource);
  const config = await readJson(src, "config.json");
  const sizes = await processorSizes(src);
  const towers = await loadScorerTowers(gpu, src, config, opts);
  const { vision, text } = towers;
  let tokenizer: CLIPTokenizer;
  try {
    if (vision.config.imageSize !== sizes.crop) throw new Error(`CLIP scorer: crop_size ${sizes.crop} differs from the vision tower's image_size ${vision.config.imageSize}`);
    tokenizer = await findTokenizer(towers.tokenizerCandidates);
  } catch (e) {
    vision.dispose();
    text.dispose();
    throw e;
  }
  const maxLength = text.config.maxPositions;

  return {
    imageSize: sizes,
    quant: towers.quant,
    pack: towers.pack,
    get weightBytes() {
      return vision.weights.bytes + text.weights.bytes;
    },
    async embedImages(images) {
      const out: Float32Array[] = [];
      for (let i0 = 0; i0 < images.length; i0 += IMAGE_BATCH) {
        const chunk = images.slice(i0, i0 + IMAGE_BATCH);
        const t = await imagePixelTensor(gpu, chunk, sizes);
        const r = await vision.forward(t);
        const flat = await gpu.read(r.imageEmbeds);
        r.dispose();
        t.dispose();
        const p = flat.length / chunk.length;
        for (let i = 0; i < chunk.length; i++) out.push(flat.slice(i * p, (i + 1) * p));
      }
      return out;
    },
    async embedTexts(texts) {
      const out: Float32Array[] = [];
      for (let i0 = 0; i0 < texts.length; i0 += TEXT_BATCH) {
        // As torchmetrics' CLIPScore tokenizes (the scores oracle): no truncation, then the ids cut to the first
        // max_position_embeddings, so a prompt longer than that loses its EOS and pools at BOS, like every other such
        // prompt. (The diffusion pipelines keep the EOS, as diffusers does; scores follow their reference instead.)
        const b = torchmetricsTextBatch(tokenizer, texts.slice(i0, i0 + TEXT_BATCH), maxLength);
        const rows = Array.from({ length: b.batch }, (_, i) => Array.from(b.inputIds.subarray(i * b.length, (i + 1) * b.length)));
        const r = await text.forward(rows);
        const flat = await gpu.read(r.textEmbeds!);
        r.dispose();
        const p = flat.length / rows.length;
        for (let i = 0; i < rows.length; i++) out.push(flat.slice(i * p, (i + 1) * p));
      }
      return out;
    },
    dispose() {
      vision.dispose();
      text.dispose();
    },
  };
}

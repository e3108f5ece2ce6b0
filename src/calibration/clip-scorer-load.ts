/**
 * Loading the CLIP scorer's towers like any other checkpoint: from a URL, a Node folder or picked files; float
 * weights streamed tensor by tensor (quantized at load when asked) or a pack (`model.qpack.safetensors` beside
 * config.json, written by `weights-tools pack-pipeline <clip-folder>`), whose scheme and policy then decide.
 * The towers take the same quantization machinery as the pipeline's models (src/models/clip-text/tower-load.ts).
 */
import type { Gpu } from "../gpu/runtime.ts";
import { ClipTextModel } from "../models/clip-text/clip-text.ts";
import type { ClipQuantLoadOptions } from "../models/clip-text/tower-load.ts";
import { ClipVisionModel } from "../models/clip-vision/clip-vision.ts";
import type { StreamingWeightSource } from "../models/weights.ts";
import { streamComponent } from "../pipeline/component-tensors.ts";
import { checkPackRequest, SCHEME_IDS, streamPack } from "../pipeline/load-unet.ts";
import { resolveSource, type PipelineSource } from "../pipeline/load.ts";
import { QUANT_SCHEMES, type LoadProgress, type QuantScheme } from "../pipeline/types.ts";
import { QUANT_FORMATS } from "../quant/formats.ts";
import type { PackInfo } from "../quant/pack-format.ts";
import { openLazyPack } from "../quant/pack-reader.ts";
import { checkPackConfig, findComponentPack } from "../quant/packed-pipeline.ts";
import { loadComponent } from "../weights/diffusers/component.ts";
import type { WeightSource as FileSource } from "../weights/sources/types.ts";

export interface ClipScorerOptions {
  /**
   * Pipeline folder (or its text_encoder folder) whose text encoder is the scorer's text tower, when the scorer has
   * none: a path or URL, or an opened source (a picked folder).
   */
  textTowerFolder?: string | FileSource;
  /**
   * Quantize the towers' linears at load ("none" or unset: float). A packed scorer's scheme is its own: leave
   * this unset (or equal to the pack's); another value is an error.
   */
  quant?: QuantScheme;
  /** torchao (default): nn.Linear weights with torchao's skips; all: the same for CLIP (its one conv, the patch embedding, stays float). */
  policy?: "torchao" | "all";
  /** GPU storage of quantized weights' scales (default f32; f16 halves their bytes). */
  scaleStorage?: "f32" | "f16";
  /** Storage type of float weights and activations (f16 needs shader-f16). */
  dtype?: "f32" | "f16";
  /** Bytes read so far, per component ("clip-scorer", then "text_encoder" when the tower is borrowed). */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts between tensors; whatever was uploaded is freed. */
  signal?: AbortSignal;
}


/** Options checked before anything is read, so a typo fails at once and by name. */
export function checkScorerOptions(o: ClipScorerOptions): void {
  const bad = (what: string, allowed: readonly string[], v: unknown) => new Error(`CLIP scorer: ${what} must be one of ${allowed.join("|")}, got ${JSON.stringify(v)}`);
  if (o.quant !== undefined && !QUANT_SCHEMES.includes(o.quant)) throw bad("quant", QUANT_SCHEMES, o.quant);
  if (o.policy !== undefined && o.policy !== "torchao" && o.policy !== "all") throw bad("policy", ["torchao", "all"], o.policy);
  if (o.scaleStorage !== undefined && o.scaleStorage !== "f32" && o.scaleStorage !== "f16") throw bad("scaleStorage", ["f32", "f16"], o.scaleStorage);
  if (o.dtype !== undefined && o.dtype !== "f32" && o.dtype !== "f16") throw bad("dtype", ["f32", "f16"], o.dtype);
}

/** One tensor source over `a`, taking `b`'s tensors where `a` lacks them (the text tower spliced into a scorer checkpoint). */
function mergedSource(a: StreamingWeightSource, b: StreamingWeightSource): StreamingWeightSource {
  const names = [...new Set([...a.names(), ...b.names()])];
  const pick = (n: string) => (a.has(n) ? a : b);
  return {
    where: `${a.where} + ${b.where}`,
    names: () => names,
    has: (n) => a.has(n) || b.has(n),
    shape: (n) => pick(n).shape(n),
    f32: (n) => pick(n).f32(n),
    fetch: (n) => pick(n).fetch(n),
    release: (n) => pick(n).release(n),
  };
}

/** Parent of a folder path or URL given as a string ("a/b/text_encoder" → "a/b"). */
function parentOf(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return i <= 0 ? (i === 0 ? "/" : ".") : trimmed.slice(0, i);
}

/** A float component streamed tensor by tensor; `close` finishes its progress and closes its files. */
async function streamFloat(src: FileSource, component: string, label: string, onProgress?: (p: LoadProgress) => void) {
  const comp = await loadComponent(src, component);
  const tensors = streamComponent(comp, (done, total) => onProgress?.({ phase: "download", component: label, bytesDone: done, bytesTotal: total }));
  return {
    config: comp.config,
    tensors,
    close: async (ok: boolean) => {
      if (ok) tensors.finish();
      await comp.close();
    },
  };
}

/**
 * Where the text tower and tokenizer come from when the scorer lacks them: `folder` is either a pipeline folder
 * (its `text_encoder/` and `tokenizer/`) or a text_encoder folder (tokenizer beside it in `../tokenizer`).
 */
async function textTowerFrom(folder: string | FileSource, onProgress?: (p: LoadProgress) => void) {
  const src = await resolveSource(folder);
  if (await src.exists("text_encoder/config.json")) {
    return { ...(await streamFloat(src, "text_encoder", "text_encoder", onProgress)), tokenizerCandidates: [[src, "tokenizer"], [src, "text_encoder"]] as [FileSource, string][] };
  }
  if (typeof folder !== "string") throw new Error(`CLIP scorer: ${src.label} has no text_encoder/ to lend the scorer its text tower`);
  const parent = await resolveSource(parentOf(folder));
  return { ...(await streamFloat(src, "", "text_encoder", onProgress)), tokenizerCandidates: [[src, ""], [parent, "tokenizer"]] as [FileSource, string][] };
}

export interface ScorerTowers {
  vision: ClipVisionModel;
  text: ClipTextModel;
  /** Where to look for vocab.json + merges.txt, in order. */
  tokenizerCandidates: [FileSource, string][];
  /** The quantization in effect (a pack's own, or the requested one). */
  quant: QuantScheme;
  /** The pack the scorer came from, or null for float weights. */
  pack: { location: string; info: PackInfo } | null;
}

/** Opens the scorer's weights (float or pack) and loads both towers, streaming, quantized as asked or as packed. */
export async function loadScorerTowers(gpu: Gpu, src: FileSource, config: Record<string, unknown>, opts: ClipScorerOptions): Promise<ScorerTowers> {
  checkScorerOptions(opts);
  const closers: ((ok: boolean) => Promise<void>)[] = [];
  let ok = false;
  let vision: ClipVisionModel | undefined;
  try {
    const packPath = await findComponentPack(src, "");
    let scorer: StreamingWeightSource;
    let quantOpts: ClipQuantLoadOptions;
    let quant: QuantScheme;
    let pack: ScorerTowers["pack"] = null;
    if (packPath) {
      const location = src.locate(packPath);
      const lazy = await openLazyPack(await src.open(packPath), location);
      closers.push(() => lazy.close());
      checkPackRequest(lazy.info, opts, location);
      checkPackConfig(lazy.info, config, location);
      const stream = streamPack(lazy, "clip-scorer", opts.onProgress);
      closers.push(async (done) => void (done && stream.progress.finish()));
      scorer = stream.tensors;
      quant = lazy.info.scheme.toLowerCase() as QuantScheme;
      // A borrowed float text tower is quantized at load with the pack's own settings, as it would have been packed.
      const groupSize = lazy.info.groupSize === "per-channel" ? undefined : lazy.info.groupSize;
      quantOpts = { prepacked: stream.prepacked, quant: QUANT_FORMATS[lazy.info.scheme], policy: lazy.info.policy as "torchao" | "all", groupSize };
      pack = { location, info: lazy.info };
    } else {
      const f = await streamFloat(src, "", "clip-scorer", opts.onProgress);
      closers.push(f.close);
      scorer = f.tensors;
      quant = opts.quant ?? "none";
      quantOpts = quant === "none" ? {} : { quant: QUANT_FORMATS[SCHEME_IDS[quant]], policy: opts.policy ?? "torchao" };
    }
    quantOpts = { ...quantOpts, scaleStorage: opts.scaleStorage };
    if (!scorer.has("text_projection.weight")) throw new Error(`CLIP scorer: ${src.label} has no text_projection.weight (a CLIPModel checkpoint is needed)`);
    let textSource = scorer;
    let textConfig = config;
    let tokenizerCandidates: [FileSource, string][] = [[src, ""], [src, "tokenizer"]];
    if (!scorer.has("text_model.embeddings.token_embedding.weight")) {
      if (!opts.textTowerFolder) throw new Error(`CLIP scorer: ${src.label} has no text tower (text_model.*); pass the pipeline folder whose text_encoder it shares`);
      const tower = await textTowerFrom(opts.textTowerFolder, opts.onProgress);
      closers.push(tower.close);
      textSource = mergedSource(scorer, tower.tensors);
      // Widths and layer count come from the tower's own config; the projection size from the scorer's.
      textConfig = { ...tower.config, projection_dim: (config.text_config as Record<string, unknown> | undefined)?.projection_dim ?? config.projection_dim };
      tokenizerCandidates = [...tokenizerCandidates, ...tower.tokenizerCandidates];
    }
    const common = { ...quantOpts, dtype: opts.dtype, signal: opts.signal };
    vision = await ClipVisionModel.loadStreaming(gpu, scorer, config, common);
    const text = await ClipTextModel.loadStreaming(gpu, textSource, textConfig, common);
    if (!text.hasProjection) {
      text.dispose();
      throw new Error("CLIP scorer: the text tower has no text_projection");
    }
    ok = true;
    return { vision, text, tokenizerCandidates, quant, pack };
  } catch (e) {
    vision?.dispose();
    throw e;
  } finally {
    for (const close of closers.reverse()) await close(ok);
  }
}

export { resolveSource, type PipelineSource };

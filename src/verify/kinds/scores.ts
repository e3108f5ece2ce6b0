import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  clipIqaLogits,
  clipScore,
  clipScorePairs,
  DEFAULT_JAQ_K,
  rankDescending,
  releasedScriptImageIndices,
  releasedScriptScores,
  scoreConfig,
  type ConfigScores,
  type Embedding,
} from "../../calibration/scores.ts";
import { CLIPTokenizer } from "../../tokenizer/clip-tokenizer.ts";
import { torchmetricsTextBatch } from "../../tokenizer/torchmetrics-batch.ts";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";
import { findTokenizerFolderFiles } from "./tokenizer.ts";

/**
 * Stored F32 values were computed in float64 from float64 embeddings; we recompute in float64 from the F32-stored
 * normalized embeddings. Measured worst relative error on the public set is ~1e-7 (F32 rounding of the embeddings);
 * 1e-5 leaves margin yet is far tighter than the README's bounds for an f32 CLIP model (which this kind does not run).
 */
const DEFAULT_TOL = 1e-5;
/** Float64 summaries (metadata, manifest) must match our float64 math on F32 embeddings to this relative error. */
const FLOAT64_TOL = 1e-6;

/** Rows of a row-major [..., P] tensor as subarrays. */
function rows(t: Float32Array, dim: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < t.length; i += dim) out.push(t.subarray(i, i + dim));
  return out;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

class Checks {
  readonly results: CaseResult[] = [];
  constructor(private readonly tol: number) {}

  floats(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = this.tol): void {
    const error = relativeMaxError(got, want);
    const ok = error <= tol;
    const head = (v: ArrayLike<number>) => Array.from(v).slice(0, 6).join(", ");
    const detail = ok ? `${want.length} values, tol ${tol}` : `got [${head(got)}], expected [${head(want)}], tol ${tol}`;
    this.results.push({ name, ok, error, detail });
  }

  exact(name: string, got: ArrayLike<number | string>, want: ArrayLike<number | string>): void {
    const g = Array.from(got);
    const w = Array.from(want);
    const at = g.length !== w.length ? -1 : g.findIndex((x, i) => x !== w[i]);
    const ok = g.length === w.length && at < 0;
    this.results.push({ name, ok, detail: ok ? `${w.length} values exact` : `got [${g.join(", ")}], expected [${w.join(", ")}]` });
  }
}

/** A metadata value as JSON; a value that is not JSON (e.g. `best_config`) comes back as its string. */
function parseMeta(file: LoadedSafetensors, key: string): unknown {
  const raw = file.metadata[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The tokenizer for the id checks: vocab files listed by this manifest, else the sibling `tokenizer` folder. */
function loadTokenizer(folder: string, manifest: Manifest): CLIPTokenizer | string {
  const candidates: [string, Manifest][] = [[folder, manifest]];
  const sibling = join(dirname(folder), "tokenizer");
  const siblingManifest = join(sibling, "manifest.json");
  if (existsSync(siblingManifest)) candidates.push([sibling, JSON.parse(readFileSync(siblingManifest, "utf8")) as Manifest]);
  for (const [dir, m] of candidates) {
    const f = findTokenizerFolderFiles(dir, m);
    if (f.vocabText !== undefined && f.mergesText !== undefined) return CLIPTokenizer.fromFiles(f.vocabText, f.mergesText);
  }
  return `no vocab.json/merges.txt listed in this manifest or in ${sibling}/manifest.json`;
}

function checkTextIds(c: Checks, file: LoadedSafetensors, tokenizer: CLIPTokenizer | string): void {
  const groups: [string, string, string | undefined, string][] = [
    ["prompts", "text_input_ids", undefined, "text_attention_mask"],
    ["anchor_prompts", "anchor_input_ids", undefined, "anchor_attention_mask"],
    ["long_prompts", "long_input_ids", "long_pool_index", "long_attention_mask"],
  ];
  for (const [metaKey, idsName, poolName, maskName] of groups) {
    const prompts = parseMeta(file, metaKey) as string[] | undefined;
    if (prompts === undefined || !file.entries.has(idsName)) continue;
    if (typeof tokenizer === "string") {
      c.results.push({ name: `${idsName} (torchmetrics text batch)`, ok: false, detail: `cannot tokenize: ${tokenizer}` });
      continue;
    }
    const batch = torchmetricsTextBatch(tokenizer, prompts);
    c.exact(`${idsName} shape`, [batch.batch, batch.length], file.shape(idsName));
    c.exact(idsName, batch.inputIds, file.typed(idsName) as Int32Array);
    if (file.entries.has(maskName)) c.exact(maskName, batch.attentionMask, file.typed(maskName) as Int32Array);
    if (poolName && file.entries.has(poolName)) c.exact(poolName, batch.poolIndex, file.typed(poolName) as Int32Array);
  }
}

/** Every check that the tensors present in one scores file allow. */
function checkScoresFile(c: Checks, file: LoadedSafetensors, manifest: Manifest, tokenizer: CLIPTokenizer | string): void {
  const [configs, n, dim] = file.shape("image_embeds_normalized") as [number, number, number];
  const images = chunk(rows(file.f32("image_embeds_normalized"), dim), n);
  const texts = rows(file.f32("text_embeds_normalized"), dim);
  const [good, bad] = rows(file.f32("anchors_normalized"), dim) as [Float32Array, Float32Array];
  const k = Number(file.metadata.k ?? DEFAULT_JAQ_K);
  const scored: ConfigScores[] = images.map((imgs) => scoreConfig(imgs, texts, good, bad, k));
  c.floats("clip_score_pairs", scored.flatMap((s) => s.pairScores), file.f32("clip_score_pairs"));
  c.floats("clip_score", scored.map((s) => s.clipScore), file.f32("clip_score"));
  if (file.entries.has("clipiqa_logits")) {
    c.floats("clipiqa_logits", images.flat().flatMap((img) => clipIqaLogits(img, good, bad)), file.f32("clipiqa_logits"));
  }
  c.floats("clipiqa", scored.flatMap((s) => s.clipIqa), file.f32("clipiqa"));
  c.floats("clipiqa_mean", scored.map((s) => s.meanClipIqa), file.f32("clipiqa_mean"));
  c.floats("jaq", scored.map((s) => s.jaq), file.f32("jaq"));
  const ranking = rankDescending(scored.map((s) => s.jaq));
  c.exact("ranking", ranking, file.typed("ranking") as Int32Array);
  const configNames = parseMeta(file, "configs") as string[] | undefined;
  if (configNames && file.metadata.best_config !== undefined) {
    c.exact("best_config", [configNames[ranking[0] as number] as string], [file.metadata.best_config]);
  }

  // Float64 summaries, in the metadata and in the manifest.
  const float64: Record<string, number[]> = {
    clip_score: scored.map((s) => s.clipScore),
    clipiqa_mean: scored.map((s) => s.meanClipIqa),
    jaq: scored.map((s) => s.jaq),
  };
  const summary = (manifest.summary ?? {}) as Record<string, number[] | undefined>;
  for (const [key, got] of Object.entries(float64)) {
    const inMetadata = parseMeta(file, `${key}_float64`) as number[] | undefined;
    if (inMetadata) c.floats(`metadata ${key}_float64`, got, inMetadata, FLOAT64_TOL);
    const inManifest = summary[key];
    if (inManifest) c.floats(`manifest summary ${key}`, got, inManifest, FLOAT64_TOL);
  }
  if (summary.order) c.exact("manifest summary order", ranking, summary.order);

  // The released script's overlapping batch slices; the batch size is part of the tensor name.
  for (const name of file.entries.keys()) {
    const m = /^released_bs(\d+)_(clip_score|jaq)$/.exec(name);
    if (!m) continue;
    const batchSize = Number(m[1]);
    const released = scored.map((s) => releasedScriptScores(s.pairScores, s.clipIqa, batchSize, k));
    c.floats(name, released.map((r) => (m[2] === "jaq" ? r.jaq : r.clipScore)), file.f32(name));
    const used = parseMeta(file, `released_bs${batchSize}_pairs_used`) as number[] | undefined;
    if (used && m[2] === "clip_score") c.exact(`released_bs${batchSize}_pairs_used`, releasedScriptImageIndices(n, batchSize), used);
  }

  // One pair scored alone whose cosine is negative: CLIPScore clamps the mean to 0.
  const clampImage = parseMeta(file, "clamp_case_image_config_and_index") as [number, number] | undefined;
  const clampPrompt = parseMeta(file, "clamp_case_prompt_index") as number | undefined;
  if (clampImage && clampPrompt !== undefined) {
    const img = [images[clampImage[0]]?.[clampImage[1]] as Embedding];
    const txt = [texts[clampPrompt] as Embedding];
    c.floats("clamp_case_pair_score", clipScorePairs(img, txt), file.f32("clamp_case_pair_score"));
    c.floats("clamp_case_clip_score", [clipScore(img, txt)], file.f32("clamp_case_clip_score"));
  }

  // Long prompts: text embeds of the cut batch, paired with config 0's images 0, 1, ... (fixture README).
  if (file.entries.has("long_text_embeds_normalized")) {
    const longTexts = rows(file.f32("long_text_embeds_normalized"), dim);
    const longImages = (images[0] as Float32Array[]).slice(0, longTexts.length);
    c.floats("long_pair_scores", clipScorePairs(longImages, longTexts), file.f32("long_pair_scores"));
    c.floats("long_clip_score", [clipScore(longImages, longTexts)], file.f32("long_clip_score"));
  }

  // Config-0 images given as float [0, 1] tensors: other image embeddings, same text and anchors.
  if (file.entries.has("float01_image_embeds_normalized")) {
    const f01 = rows(file.f32("float01_image_embeds_normalized"), dim);
    const s = scoreConfig(f01, texts.slice(0, f01.length), good, bad, k);
    c.floats("float01_clip_score_pairs", s.pairScores, file.f32("float01_clip_score_pairs"));
    c.floats("float01_clip_score", [s.clipScore], file.f32("float01_clip_score"));
    c.floats("float01_clipiqa", s.clipIqa, file.f32("float01_clipiqa"));
  }
  checkTextIds(c, file, tokenizer);
  if (configs !== images.length) c.results.push({ name: "config count", ok: false, detail: `${images.length} vs ${configs}` });
}

async function run(folder: string, manifest: Manifest, opts: VerifyOptions): Promise<CaseResult[]> {
  const files = manifest.files as Record<string, unknown> | undefined;
  const tensorFiles = Object.keys(files ?? {}).filter((name) => name.endsWith(".safetensors"));
  if (tensorFiles.length === 0) throw new Error(`scores: manifest in ${folder} lists no .safetensors file`);
  const tokenizer = loadTokenizer(folder, manifest);
  const all: CaseResult[] = [];
  for (const name of tensorFiles) {
    const checks = new Checks(opts.tol ?? DEFAULT_TOL);
    checkScoresFile(checks, readSafetensorsFileSync(join(folder, name)), manifest, tokenizer);
    opts.log?.(`scores: ${checks.results.length} checks from ${name}`);
    all.push(...checks.results.map((r) => ({ ...r, name: `${name}: ${r.name}` })));
  }
  return all;
}

const scoresKind: VerifyKind = { kind: "scores", defaultTol: DEFAULT_TOL, needsGpu: false, run };
export default scoresKind;

/**
 * The seam between calibration and CLIP: anything that embeds images and texts into one space. The real
 * implementation wraps the GPU CLIP models (src/models/clip-vision, src/models/clip-text); tests use fakes.
 */
import type { Tensor } from "../gpu/tensor.ts";
import type { GeneratedImage } from "../pipeline/types.ts";
import { DEFAULT_JAQ_K, scoreConfig, type ConfigScores } from "./scores.ts";

/**
 * A generated image, optionally still on the GPU: `rgba` is the same pixels as RGBA8 [1, H, W] u32
 * (`generate({ keepRgba: true })`), which a GPU scorer reads instead of uploading `data`. The owner disposes it.
 */
export interface CandidateImage extends GeneratedImage {
  rgba?: Tensor;
}

export interface ImageScorer {
  /** Projected image embeddings (CLIP `image_embeds`), one per image. */
  embedImages(images: readonly CandidateImage[]): Promise<Float32Array[]>;
  /** Projected text embeddings (CLIP `text_embeds`), one per text. */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
}

/** CLIP-IQA's anchor prompts (torchmetrics "quality" pair). */
export const QUALITY_ANCHORS = ["Good photo.", "Bad photo."] as const;

/**
 * Scores one candidate's images (image i generated from prompt i) with JAQ = ln(CLIPScore) + k·mean CLIP-IQA.
 * Prompt and anchor embeddings are computed once and reused for every candidate.
 */
export class JaqEvaluator {
  private textEmbeds?: Promise<{ prompts: Float32Array[]; good: Float32Array; bad: Float32Array }>;

  constructor(
    private readonly scorer: ImageScorer,
    readonly prompts: readonly string[],
    readonly k = DEFAULT_JAQ_K,
  ) {
    if (prompts.length === 0) throw new Error("JAQ evaluator: the prompt set is empty, expected at least one prompt");
  }

  private texts() {
    this.textEmbeds ??= (async () => {
      const all = await this.scorer.embedTexts([...this.prompts, ...QUALITY_ANCHORS]);
      if (all.length !== this.prompts.length + QUALITY_ANCHORS.length) {
        throw new Error(`image scorer: embedTexts returned ${all.length} embeddings for ${this.prompts.length + QUALITY_ANCHORS.length} texts`);
      }
      const n = this.prompts.length;
      return { prompts: all.slice(0, n), good: all[n]!, bad: all[n + 1]! };
    })();
    return this.textEmbeds;
  }

  async score(images: readonly CandidateImage[]): Promise<ConfigScores> {
    if (images.length !== this.prompts.length) {
      throw new Error(`JAQ evaluator: ${images.length} images for ${this.prompts.length} prompts, expected one image per prompt`);
    }
    const t = await this.texts();
    const imageEmbeds = await this.scorer.embedImages(images);
    if (imageEmbeds.length !== images.length) throw new Error(`image scorer: embedImages returned ${imageEmbeds.length} embeddings for ${images.length} images`);
    return scoreConfig(imageEmbeds, t.prompts, t.good, t.bad, this.k);
  }
}

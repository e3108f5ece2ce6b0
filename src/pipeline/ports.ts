import type { Tensor } from "../gpu/tensor.ts";

/** What the pipeline needs from a CLIP text encoder (src/models/clip-text adapts to this). */
export interface TextEncoderPort {
  /** ids [B, 77] → outputs; the pipeline disposes what it takes. */
  encode(ids: number[][]): Promise<{ lastHiddenState: Tensor; penultimate?: Tensor; pooled?: Tensor; textEmbeds?: Tensor }>;
  dispose(): void;
}

/** What the pipeline needs from a VAE decoder: latents already divided by scaling_factor → image NCHW. */
export interface ImageDecoderPort {
  decode(latents: Tensor, opts?: { onProgress?: (p: { module: string; done: number; total: number }) => void }): Promise<Tensor>;
  /**
   * Channels of the smallest piece its widest layer can run in (the VAE slices activations over the binding limit
   * by GroupNorm groups): the memory check before allocating needs batch × this × H × W floats in one binding.
   */
  sliceChannels: number;
  dispose(): void;
}

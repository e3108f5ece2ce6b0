import type { Tensor } from "../gpu/tensor.ts";

/** What the pipeline needs from a CLIP text encoder (src/models/clip-text adapts to this). */
export interface TextEncoderPort {
  /** ids [B, 77] → outputs; the pipeline disposes what it takes. */
  encode(ids: number[][]): Promise<{ lastHiddenState: Tensor; penultimate?: Tensor; pooled?: Tensor; textEmbeds?: Tensor }>;
  dispose(): void;
}

/** What the pipeline needs from a VAE decoder: latents already divided by scaling_factor → image NCHW. */
export interface ImageDecoderPort {
  decode(latents: Tensor): Promise<Tensor>;
  /** Channels of its widest layer (for the memory check before allocating). */
  widestChannels: number;
  dispose(): void;
}

/**
 * Per-step previews: the step's x0 prediction (`denoised`) decoded to RGBA8 while the loop runs.
 * TAESD (AutoencoderTiny) is the usual preview decoder: ~1/100 of the VAE decoder's work, and it takes
 * latents in UNet space (its scaling_factor is 1). Without one, the pipeline's own VAE decodes the
 * previews — exact but as slow as the final decode, fine for small models.
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { TaesdDecoder } from "../models/taesd/taesd.ts";
import { imageToRgba8 } from "../ops/image.ts";
import { scale } from "../ops/scale.ts";
import { loadComponent } from "../weights/diffusers/component.ts";
import { streamComponent } from "./component-tensors.ts";
import { resolveSource, type PipelineSource } from "./load.ts";
import type { ImageDecoderPort } from "./ports.ts";
import type { GeneratedImage } from "./types.ts";

/** Decodes UNet-space latents [B, 4, h, w] to an image [B, 3, 8h, 8w] in [-1, 1]. */
export interface PreviewDecoder {
  readonly kind: "taesd" | "vae";
  decode(latents: Tensor): Promise<Tensor>;
  /** TAESD: bytes of its widest activation for [batch, ·, h, w] latents (checked against the binding limit first). */
  widestActivationBytes?(batch: number, h: number, w: number): number;
  dispose(): void;
}

/** A TAESD/TAESDXL folder (config.json + weights at its root, e.g. madebyollin/taesd) as preview decoder. */
/** `dtype`: the pipeline's (diffusers runs an AutoencoderTiny in the pipeline's dtype); f16 halves its activations. */
export async function loadTaesdPreview(gpu: Gpu, source: PipelineSource, dtype: "f32" | "f16" = "f32"): Promise<PreviewDecoder> {
  const src = await resolveSource(source);
  const comp = await loadComponent(src, "");
  if (comp.config._class_name !== "AutoencoderTiny") {
    await comp.close();
    throw new Error(`${src.label}: a preview decoder must be an AutoencoderTiny (TAESD) folder, found _class_name ${JSON.stringify(comp.config._class_name)}`);
  }
  // Diffusers' AutoencoderTiny keeps the decoder under "decoder."; standalone taesd files too.
  // Streamed: one tensor on the CPU at a time (the encoder's tensors are never read).
  const model = await TaesdDecoder.loadStreaming(gpu, streamComponent(comp), comp.config, { dtype }).finally(comp.close);
  return { kind: "taesd", decode: (z) => model.decode(z), widestActivationBytes: (b, h, w) => model.widestActivationBytes(b, h, w), dispose: () => model.dispose() };
}

/** The pipeline's own VAE as preview decoder (not owned: dispose() is a no-op). */
export function vaePreview(gpu: Gpu, vae: ImageDecoderPort, scalingFactor: number): PreviewDecoder {
  return {
    kind: "vae",
    async decode(z) {
      const scaled = await scale(gpu, z, 1 / scalingFactor);
      try {
        return await vae.decode(scaled);
      } finally {
        scaled.dispose();
      }
    },
    dispose() {},
  };
}

/** An image batch [B, 3, H, W] in [-1, 1] → one RGBA8 image per batch entry (read back to the CPU). */
export async function toImages(gpu: Gpu, image: Tensor): Promise<GeneratedImage[]> {
  const rgba = await imageToRgba8(gpu, image);
  try {
    return await rgbaToImages(gpu, rgba);
  } finally {
    rgba.dispose();
  }
}

/** RGBA8 pixels [B, H, W] (one u32 each, `imageToRgba8`) → one image per batch entry, read back; `rgba` stays alive. */
export async function rgbaToImages(gpu: Gpu, rgba: Tensor): Promise<GeneratedImage[]> {
  const [batch, height, width] = rgba.shape as [number, number, number];
  const words = (await gpu.download(rgba)) as Uint32Array;
  const pixels = height * width;
  return Array.from({ length: batch }, (_, b) => ({
    width,
    height,
    data: new Uint8ClampedArray(words.buffer.slice(b * pixels * 4, (b + 1) * pixels * 4)),
  }));
}

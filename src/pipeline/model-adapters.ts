import type { Gpu } from "../gpu/runtime.ts";
import type { WeightSource as TensorSource } from "../models/weights.ts";
import type { ImageDecoderPort, TextEncoderPort } from "./ports.ts";

/** CLIP text encoder for a pipeline component (wired to src/models/clip-text). */
export async function loadTextEncoder(_gpu: Gpu, name: string, _config: Record<string, unknown>, _tensors: TensorSource, _sdxl: boolean): Promise<TextEncoderPort> {
  throw new Error(`${name}: the CLIP text encoder is not available in this build`);
}

/** AutoencoderKL decoder for a pipeline (wired to src/models/vae). */
export async function loadVaeDecoder(_gpu: Gpu, _config: Record<string, unknown>, _tensors: TensorSource): Promise<ImageDecoderPort> {
  throw new Error("vae: the AutoencoderKL decoder is not available in this build");
}

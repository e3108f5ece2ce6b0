import type { Gpu } from "../gpu/runtime.ts";
import { ClipTextModel } from "../models/clip-text/clip-text.ts";
import { VaeDecoder } from "../models/vae/decoder.ts";
import type { WeightSource as TensorSource } from "../models/weights.ts";
import type { ImageDecoderPort, TextEncoderPort } from "./ports.ts";

/**
 * A CLIP text encoder as the pipeline uses it: last_hidden_state always; SDXL also needs the
 * penultimate hidden state (no final LN) and, from the projection model, text_embeds.
 */
export async function loadTextEncoder(
  gpu: Gpu,
  _name: string,
  config: Record<string, unknown>,
  tensors: TensorSource,
  sdxl: boolean,
  dtype: "f32" | "f16" = "f32",
  signal?: AbortSignal,
): Promise<TextEncoderPort> {
  // A streaming source is read one tensor at a time; an in-memory one works the same way.
  const model = await ClipTextModel.loadStreaming(gpu, tensors, config, { dtype, signal });
  return {
    async encode(ids) {
      const out = await model.forward(ids, sdxl ? { hiddenStates: [-2] } : {});
      const penultimate = sdxl ? out.hiddenStates.get(model.config.numLayers - 1) : undefined;
      // Hand over the tensors the pipeline takes; dispose the rest.
      for (const t of out.hiddenStates.values()) if (t !== penultimate) t.dispose();
      return { lastHiddenState: out.lastHiddenState, penultimate, pooled: out.pooled, textEmbeds: out.textEmbeds };
    },
    dispose: () => model.weights.dispose(),
  };
}

/**
 * The AutoencoderKL decoder (its weights uploaded at load). With dtype f16 a VAE whose config sets
 * `force_upcast` (SDXL's: its activations overflow f16) stays f32, as diffusers upcasts it.
 */
export async function loadVaeDecoder(gpu: Gpu, config: Record<string, unknown>, tensors: TensorSource, dtype: "f32" | "f16" = "f32", signal?: AbortSignal): Promise<ImageDecoderPort> {
  const model = await VaeDecoder.loadStreaming(gpu, tensors, config, { dtype: config.force_upcast === true ? "f32" : dtype, signal });
  return {
    decode: (z, o) => model.decode(z, { onProgress: o?.onProgress }),
    // Activations over the binding limit run as channel slices of whole GroupNorm groups (channel-slices.ts).
    sliceChannels: Math.max(...model.config.blockOutChannels) / model.config.normGroups,
    dispose: () => model.dispose(),
  };
}

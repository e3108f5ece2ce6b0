import type { PipelineKind } from "./kind.ts";

/**
 * Cross-checks the components' configs before any weight is read: a UNet paired with another text encoder or VAE
 * than it was trained with would otherwise load for minutes and then fail at the first generate() (or, where the
 * shapes happen to agree, run wrong). Diffusers' relations:
 * - the UNet attends to the text encoders' last hidden states: cross_attention_dim = their hidden sizes (SDXL: the
 *   two concatenated);
 * - SDXL's added conditioning: projection_class_embeddings_input_dim = text_encoder_2's projection_dim (pooled
 *   text_embeds) + 6 · addition_time_embed_dim (the six add_time_ids);
 * - the UNet denoises the VAE's latents: in_channels = out_channels = latent_channels.
 */
export interface ComponentConfigs {
  unet: Record<string, unknown>;
  /** text_encoder, then text_encoder_2 for SDXL. */
  textEncoders: Record<string, unknown>[];
  vae: Record<string, unknown>;
}

const TEXT_NAMES = ["text_encoder", "text_encoder_2"];

export function checkComponentConfigs(kind: PipelineKind, c: ComponentConfigs, locate: (path: string) => string): void {
  const num = (config: Record<string, unknown>, key: string, file: string): number | undefined => {
    const v = config[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`${locate(file)}: ${key} must be a positive integer, found ${JSON.stringify(v)}`);
    return v;
  };
  const unetFile = "unet/config.json";
  const fail = (msg: string): never => {
    throw new Error(`${locate(unetFile)} does not match the other components: ${msg}`);
  };

  const hidden = c.textEncoders.map((t, i) => num(t, "hidden_size", `${TEXT_NAMES[i]}/config.json`));
  const cross = c.unet.cross_attention_dim;
  if (typeof cross === "number" && hidden.every((h) => h !== undefined)) {
    const sum = (hidden as number[]).reduce((a, b) => a + b, 0);
    if (cross !== sum) {
      const parts = hidden.map((h, i) => `${TEXT_NAMES[i]} ${h}`).join(" + ");
      fail(`cross_attention_dim is ${cross}, but the text encoder${hidden.length > 1 ? "s' hidden sizes add up to" : "'s hidden_size is"} ${sum}${hidden.length > 1 ? ` (${parts})` : ""}`);
    }
  }

  if (kind === "sdxl" && c.textEncoders.length > 1) {
    const projIn = num(c.unet, "projection_class_embeddings_input_dim", unetFile);
    const timeDim = num(c.unet, "addition_time_embed_dim", unetFile);
    const pooled = num(c.textEncoders[1]!, "projection_dim", "text_encoder_2/config.json");
    if (projIn !== undefined && timeDim !== undefined && pooled !== undefined && projIn !== pooled + 6 * timeDim) {
      fail(`projection_class_embeddings_input_dim is ${projIn}, but text_encoder_2's projection_dim ${pooled} + 6 × addition_time_embed_dim ${timeDim} = ${pooled + 6 * timeDim}`);
    }
  }

  const latent = num(c.vae, "latent_channels", "vae/config.json") ?? 4;
  for (const key of ["in_channels", "out_channels"]) {
    const v = num(c.unet, key, unetFile) ?? 4;
    if (v !== latent) fail(`${key} is ${v}, but the VAE's latent_channels is ${latent}`);
  }

  // diffusers' SDXL pipeline decodes latents·std/scaling_factor + mean when the VAE config has both (Playground
  // v2.5's); we decode latents/scaling_factor only, so such a VAE would give wrong colours without a word.
  if (kind === "sdxl" && c.vae.latents_mean != null && c.vae.latents_std != null) {
    throw new Error(`${locate("vae/config.json")}: latents_mean / latents_std (${JSON.stringify(c.vae.latents_mean)} / ${JSON.stringify(c.vae.latents_std)}) are not supported yet; only VAEs decoded as latents / scaling_factor are`);
  }

  // diffusers' SD and LCM pipelines pass the tokenizer's attention mask to a text encoder whose config asks for it
  // (padding then stops being attended to); we encode without one, which would give another conditioning.
  if (kind !== "sdxl" && c.textEncoders[0]?.use_attention_mask === true) {
    throw new Error(`${locate("text_encoder/config.json")}: use_attention_mask true (the pipeline masks padding tokens in the text encoder) is not supported`);
  }
  // An LCM UNet (guidance embedding) under the SD or SDXL pipeline: diffusers feeds it timestep_cond there and skips
  // CFG; we do that for LatentConsistencyModelPipeline folders only.
  if (kind !== "lcm" && typeof c.unet.time_cond_proj_dim === "number") {
    throw new Error(`${locate(unetFile)}: time_cond_proj_dim ${c.unet.time_cond_proj_dim} (an LCM UNet's guidance embedding) under model_index's non-LCM pipeline is not supported; an LCM model's model_index names LatentConsistencyModelPipeline`);
  }
}

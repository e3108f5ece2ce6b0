/** diffusers AutoencoderKL config fields the decoder reads, checked by name. */

export interface VaeConfig {
  latentChannels: number;
  outChannels: number;
  /** block_out_channels as in the config (the decoder walks them reversed). */
  blockOutChannels: number[];
  layersPerBlock: number;
  normGroups: number;
  /** Latents are divided by this before decode — by the caller (the pipeline), not by the decoder. */
  scalingFactor: number;
  shiftFactor: number | null;
  usePostQuantConv: boolean;
  midBlockAttention: boolean;
}

/** GroupNorm eps inside the VAE (diffusers hard-codes 1e-6 for its resnets, attention and conv_norm_out). */
export const VAE_NORM_EPS = 1e-6;

export function parseVaeConfig(raw: Record<string, unknown>): VaeConfig {
  const num = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`VAE config: "${key}" must be a number, found ${JSON.stringify(raw[key])}`);
    return v;
  };
  const blocks = raw.block_out_channels;
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.some((c) => typeof c !== "number")) {
    throw new Error(`VAE config: "block_out_channels" must be a list of numbers, found ${JSON.stringify(blocks)}`);
  }
  const act = raw.act_fn ?? "silu";
  if (act !== "silu" && act !== "swish") throw new Error(`VAE config: act_fn ${JSON.stringify(act)} is not supported (expected "silu")`);
  const ups = raw.up_block_types;
  if (Array.isArray(ups) && ups.some((t) => t !== "UpDecoderBlock2D")) throw new Error(`VAE config: up_block_types ${JSON.stringify(ups)} are not supported (expected UpDecoderBlock2D)`);
  if (Array.isArray(ups) && ups.length !== blocks.length) throw new Error(`VAE config: ${ups.length} up_block_types but ${blocks.length} block_out_channels`);
  const shift = raw.shift_factor;
  return {
    latentChannels: num("latent_channels", 4),
    outChannels: num("out_channels", 3),
    blockOutChannels: blocks as number[],
    layersPerBlock: num("layers_per_block", 1),
    normGroups: num("norm_num_groups", 32),
    scalingFactor: num("scaling_factor", 0.18215),
    shiftFactor: typeof shift === "number" ? shift : null,
    usePostQuantConv: raw.use_post_quant_conv !== false,
    midBlockAttention: raw.mid_block_add_attention !== false,
  };
}

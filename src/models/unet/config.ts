/**
 * diffusers UNet2DConditionModel config.json → the normalized numbers the forward needs. Options this
 * implementation does not support with a non-default value are rejected by name, so a checkpoint that
 * needs them fails at load instead of producing a silently different network.
 */

export type DownBlockType = "CrossAttnDownBlock2D" | "DownBlock2D";
export type UpBlockType = "CrossAttnUpBlock2D" | "UpBlock2D";

export interface UnetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  /** Resnets per down block (up blocks have one more). */
  layersPerBlock: number[];
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  /** Attention heads per down block (diffusers reads `attention_head_dim` as the head count). */
  downHeads: number[];
  upHeads: number[];
  midHeads: number;
  /** BasicTransformerBlocks per Transformer2DModel. */
  downTransformerLayers: number[];
  upTransformerLayers: number[];
  midTransformerLayers: number;
  crossAttentionDim: number;
  useLinearProjection: boolean;
  normGroups: number;
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
  /** time_proj width (= block_out_channels[0]) and time_embedding output width. */
  timeProjDim: number;
  timeEmbedDim: number;
  /** LCM: width of `timestep_cond` fed through time_embedding.cond_proj, else null. */
  timeCondProjDim: number | null;
  /** SDXL "text_time": add_time_proj width and add_embedding input width, else null. */
  textTime: { timeEmbedDim: number; projectionInputDim: number } | null;
  convInKernel: number;
  convOutKernel: number;
  downsamplePadding: number;
}

type Raw = Record<string, unknown>;

function fail(option: string, value: unknown, expected: string): never {
  throw new Error(`unet: config option ${option}=${JSON.stringify(value)} is not supported (expected ${expected})`);
}

/** Requires `raw[key]` to be absent or one of the accepted default values. */
function requireDefault(raw: Raw, key: string, accepted: unknown[]): void {
  if (!(key in raw)) return;
  const v = raw[key];
  const ok = accepted.some((a) => JSON.stringify(a) === JSON.stringify(v));
  if (!ok) {
    // Lists of all-false booleans mean "off" too (only_cross_attention may be per block).
    if (Array.isArray(v) && v.every((x) => x === false) && accepted.includes(false)) return;
    fail(key, v, accepted.map((a) => JSON.stringify(a)).join(" or "));
  }
}

function int(raw: Raw, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail(key, v, "a non-negative integer");
  return v;
}

function num(raw: Raw, key: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) fail(key, v, "a number");
  return v;
}

/** An int, or a list with one int per down block. */
function perBlock(raw: Raw, key: string, blocks: number, fallback?: number): number[] {
  const v = raw[key] ?? fallback;
  if (typeof v === "number" && Number.isInteger(v) && v > 0) return Array(blocks).fill(v);
  if (Array.isArray(v) && v.length === blocks && v.every((x) => typeof x === "number" && Number.isInteger(x) && x > 0)) return v as number[];
  return fail(key, v, `a positive integer or a list of ${blocks} positive integers`);
}

/** Parses and validates a UNet2DConditionModel config.json object. */
export function parseUnetConfig(raw: Raw): UnetConfig {
  if (raw._class_name !== undefined && raw._class_name !== "UNet2DConditionModel") fail("_class_name", raw._class_name, '"UNet2DConditionModel"');
  requireDefault(raw, "act_fn", ["silu", "swish"]); // diffusers' get_activation: "swish" is silu
  requireDefault(raw, "center_input_sample", [false]);
  requireDefault(raw, "only_cross_attention", [false]);
  requireDefault(raw, "mid_block_only_cross_attention", [null, false]);
  requireDefault(raw, "dual_cross_attention", [false]);
  requireDefault(raw, "class_embed_type", [null]);
  requireDefault(raw, "num_class_embeds", [null]);
  requireDefault(raw, "class_embeddings_concat", [false]);
  requireDefault(raw, "encoder_hid_dim", [null]);
  requireDefault(raw, "encoder_hid_dim_type", [null]);
  requireDefault(raw, "addition_embed_type", [null, "text_time"]);
  requireDefault(raw, "time_embedding_type", ["positional"]);
  requireDefault(raw, "time_embedding_act_fn", [null]);
  requireDefault(raw, "timestep_post_act", [null]);
  requireDefault(raw, "resnet_time_scale_shift", ["default"]);
  requireDefault(raw, "resnet_skip_time_act", [false]);
  requireDefault(raw, "attention_type", ["default"]);
  requireDefault(raw, "cross_attention_norm", [null]);
  requireDefault(raw, "mid_block_type", ["UNetMidBlock2DCrossAttn"]);
  requireDefault(raw, "reverse_transformer_layers_per_block", [null]);
  // diffusers itself refuses num_attention_heads and reads attention_head_dim as the head count.
  requireDefault(raw, "num_attention_heads", [null]);
  requireDefault(raw, "mid_block_scale_factor", [1]);
  requireDefault(raw, "resnet_out_scale_factor", [1]);
  // upcast_attention only changes f16 math: our attention accumulates in f32 anyway (no-op).

  const downBlockTypes = raw.down_block_types as string[];
  const upBlockTypes = raw.up_block_types as string[];
  if (!Array.isArray(downBlockTypes) || downBlockTypes.length < 1) fail("down_block_types", downBlockTypes, "a non-empty list");
  for (const t of downBlockTypes) if (t !== "CrossAttnDownBlock2D" && t !== "DownBlock2D") fail("down_block_types", downBlockTypes, "CrossAttnDownBlock2D / DownBlock2D entries");
  if (!Array.isArray(upBlockTypes) || upBlockTypes.length !== downBlockTypes.length) fail("up_block_types", upBlockTypes, `a list of ${downBlockTypes.length} entries`);
  for (const t of upBlockTypes) if (t !== "CrossAttnUpBlock2D" && t !== "UpBlock2D") fail("up_block_types", upBlockTypes, "CrossAttnUpBlock2D / UpBlock2D entries");
  const blocks = downBlockTypes.length;
  const blockOutChannels = perBlock(raw, "block_out_channels", blocks);
  if (!Array.isArray(raw.block_out_channels)) fail("block_out_channels", raw.block_out_channels, `a list of ${blocks} channel counts`);
  const layersPerBlock = perBlock(raw, "layers_per_block", blocks, 2);
  const heads = perBlock(raw, "attention_head_dim", blocks, 8);
  const layers = perBlock(raw, "transformer_layers_per_block", blocks, 1);
  const cross = raw.cross_attention_dim ?? 1280;
  if (typeof cross !== "number" || !Number.isInteger(cross) || cross < 1) fail("cross_attention_dim", cross, "one positive integer");

  let textTime: UnetConfig["textTime"] = null;
  if (raw.addition_embed_type === "text_time") {
    textTime = { timeEmbedDim: int(raw, "addition_time_embed_dim"), projectionInputDim: int(raw, "projection_class_embeddings_input_dim") };
  }
  const convInKernel = int(raw, "conv_in_kernel", 3);
  const convOutKernel = int(raw, "conv_out_kernel", 3);
  if (convInKernel % 2 !== 1) fail("conv_in_kernel", convInKernel, "an odd kernel size");
  if (convOutKernel % 2 !== 1) fail("conv_out_kernel", convOutKernel, "an odd kernel size");
  // diffusers pads (0, 1, 0, 1) for 0, which our symmetric-padding conv cannot do; every SD/SDXL/LCM UNet uses 1.
  const downsamplePadding = int(raw, "downsample_padding", 1);
  if (downsamplePadding !== 1) fail("downsample_padding", downsamplePadding, "1");
  const timeProjDim = blockOutChannels[0]!;
  const timeEmbedDim = raw.time_embedding_dim == null ? 4 * timeProjDim : int(raw, "time_embedding_dim");
  const tcpd = raw.time_cond_proj_dim;
  return {
    inChannels: int(raw, "in_channels", 4),
    outChannels: int(raw, "out_channels", 4),
    blockOutChannels,
    layersPerBlock,
    downBlockTypes: downBlockTypes as DownBlockType[],
    upBlockTypes: upBlockTypes as UpBlockType[],
    downHeads: heads,
    upHeads: [...heads].reverse(),
    midHeads: heads[blocks - 1]!,
    downTransformerLayers: layers,
    upTransformerLayers: [...layers].reverse(),
    midTransformerLayers: layers[blocks - 1]!,
    crossAttentionDim: cross,
    useLinearProjection: !!(raw.use_linear_projection ?? false),
    normGroups: int(raw, "norm_num_groups", 32),
    normEps: num(raw, "norm_eps", 1e-5),
    flipSinToCos: !!(raw.flip_sin_to_cos ?? true),
    freqShift: num(raw, "freq_shift", 0),
    timeProjDim,
    timeEmbedDim,
    timeCondProjDim: tcpd == null ? null : int(raw, "time_cond_proj_dim"),
    textTime,
    convInKernel,
    convOutKernel,
    downsamplePadding,
  };
}

/** The benchmarked UNets: latent size and conditioning inputs each config needs (batch 1). */
export interface BenchModel {
  id: string;
  /** Latent [h, w] = image / 8. */
  latent: [number, number];
  contextDim: number;
  /** LCM: guidance embedding width (time_cond_proj_dim). */
  timestepCondDim?: number;
  /** SDXL: pooled text embeds width and add_time_ids (orig size, crop, target size). */
  textEmbedsDim?: number;
  timeIds?: number[];
  /** Targets (policy "all", W4A8) from issue 7, in bytes; absent where the issue sets none. */
  target?: { weightBytes: number; peakBytes: number };
}

const GB = 1e9;

export const MODELS: Record<string, BenchModel> = {
  "sd-turbo": { id: "sd-turbo", latent: [64, 64], contextDim: 1024, target: { weightBytes: 0.5 * GB, peakBytes: 1.0 * GB } },
  "lcm-sd15": { id: "lcm-sd15", latent: [64, 64], contextDim: 768, timestepCondDim: 256 },
  "sdxl-turbo": {
    id: "sdxl-turbo",
    latent: [128, 128],
    contextDim: 2048,
    textEmbedsDim: 1280,
    timeIds: [1024, 1024, 0, 0, 1024, 1024],
    target: { weightBytes: 1.6 * GB, peakBytes: 2.5 * GB },
  },
};

export { VaeDecoder, type VaeDecodeOptions, type VaeHook } from "./decoder.ts";
export { parseVaeConfig, VAE_NORM_EPS, type VaeConfig } from "./config.ts";
export type { VaeTestVariants } from "./blocks.ts";

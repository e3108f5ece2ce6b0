export { ClipTextModel, type ClipTextOutputs, type ClipTextForwardOptions, type ClipTextLoadOptions, type ClipTextTestVariants } from "./clip-text.ts";
export { parseClipTextConfig, parseEncoderConfig, activationFor, type ClipTextConfig, type ClipEncoderConfig } from "./config.ts";
export { pooledIndex, type TokenIds } from "./ids.ts";
export { tokenizePrompts, type TokenizePromptOptions } from "./prompt.ts";
export { clipEncoderLayer, type ClipHook } from "./encoder-layer.ts";
export { type ClipQuantLoadOptions } from "./tower-load.ts";

export {
  BOS_TOKEN,
  CLIP_CONTEXT_LENGTH,
  CLIPTokenizer,
  EOS_TOKEN,
  type CLIPTokenizerOptions,
  type EncodeOptions,
  type Encoding,
  type PaddingMode,
} from "./clip-tokenizer.ts";
export { torchmetricsTextBatch, type TorchmetricsTextBatch } from "./torchmetrics-batch.ts";
export { basicNormalize, cleanText, preTokenize } from "./normalize.ts";

/** Prompt → ids the way diffusers' encode_prompt calls the tokenizer, including its truncation warning. */
import type { CLIPTokenizer } from "../../tokenizer/clip-tokenizer.ts";

export interface TokenizePromptOptions {
  /** Default: the tokenizer's model_max_length (77 for every SD CLIP). */
  maxLength?: number;
  /** Where the truncation warning goes (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * Pads to maxLength and truncates longer prompts, warning with the dropped part as diffusers does
 * ("The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens").
 */
export function tokenizePrompts(tokenizer: CLIPTokenizer, prompts: readonly string[], opts: TokenizePromptOptions = {}): number[][] {
  const maxLength = opts.maxLength ?? tokenizer.modelMaxLength;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  return prompts.map((prompt) => {
    const content = tokenizer.encodeContent(prompt);
    if (content.length > maxLength - 2) {
      const dropped = tokenizer.tokenize(prompt).slice(maxLength - 2).join("").replaceAll("</w>", " ").trim();
      warn(`The following part of your input was truncated because CLIP can only handle sequences up to ${maxLength} tokens (${content.length + 2} given): ${dropped}`);
    }
    return tokenizer.encode(prompt, { maxLength, padding: "max_length", truncation: true }).ids;
  });
}

/**
 * Calibration prompts. The built-in set is written for the embedded toy-shapes model and its tiny CLIP, so every
 * caption uses only their vocabulary (colours red green blue yellow white black orange purple; shapes circle square
 * triangle star ring; sizes small/large; positions; plain or two-tone backgrounds; counts two/three) in the
 * training templates (/work/shared/toy-shapes/README.md, "Data"), article included ("a orange", as the
 * templates write it). None of them is one of the toy README's 16
 * evaluation prompts, so recorded results there stay a held-out check.
 */
export const DEFAULT_CALIBRATION_PROMPTS: readonly string[] = Object.freeze([
  "a red square on a white background",
  "a blue circle on a yellow background",
  "a green star",
  "a large orange ring",
  "a small purple triangle",
  "a yellow circle at the bottom left",
  "a white square in the center",
  "a black star at the top right on a green background",
  "a large blue triangle on a white background",
  "a small red ring on a black background",
  "two green circles",
  "three purple stars",
  "two black rings on a yellow background",
  "three white squares on a blue background",
  "a red star and a yellow ring",
  "a blue triangle and a white circle on a black background",
  "a orange square and a green triangle",
  "a purple circle on a red and white background",
  "a yellow star on a blue and black background",
  "a large green square at the left on a purple background",
  "a white triangle at the right",
  "a small blue star at the bottom on a orange background",
  "two red triangles on a green background",
  "a black circle and a purple square on a white background",
  "a large white ring on a red background",
]);

/** Reads a prompt file: one prompt per line; blank lines and surrounding spaces are ignored. */
export function parsePromptFile(text: string, name = "prompt file"): string[] {
  const prompts = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (prompts.length === 0) throw new Error(`${name}: no prompts found, expected one prompt per line`);
  return prompts;
}

/**
 * The order in which calibration takes a prompt list: a van der Corput (bit-reversal) walk over the positions, so every
 * prefix is spread over the whole list (8 prompts: 0 4 2 6 1 5 3 7). The fast search scores most candidates on a
 * prefix only, and a list is often written in order (ours goes from single shapes to pairs and two-tone
 * backgrounds): its first quarter would be a biased sample of it.
 */
export function racingOrder(count: number): number[] {
  const order: number[] = [];
  const taken = new Set<number>();
  for (let i = 0; order.length < count; i++) {
    let x = 0;
    for (let b = 0.5, j = i; j > 0; j >>= 1, b /= 2) if (j & 1) x += b;
    const idx = Math.floor(x * count);
    if (!taken.has(idx)) {
      taken.add(idx);
      order.push(idx);
    }
  }
  return order;
}

/** Default seeds: 100, 101, … one per prompt (the toy landscapes' rule: seed 100 + k for prompt k). */
export function defaultSeeds(promptCount: number): number[] {
  return Array.from({ length: promptCount }, (_, i) => 100 + i);
}

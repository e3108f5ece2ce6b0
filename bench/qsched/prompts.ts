/**
 * Held-out benchmark prompts for the toy-shapes model: in its training vocabulary and templates, but none is one of
 * the 25 built-in calibration prompts or the model card's 16 evaluation prompts (run.ts checks the first).
 */
export const HELD_OUT_PROMPTS: readonly string[] = [
  "a green circle on a red background",
  "a large blue ring",
  "a small white star on a purple background",
  "a yellow triangle at the top right",
  "two blue squares",
  "three red rings",
  "a black triangle on a yellow background",
  "a orange star in the center",
  "a purple square at the bottom left on a white background",
  "a white circle and a red square",
  "two orange triangles on a blue background",
  "a large red square on a green background",
  "a small yellow ring at the left",
  "a green star and a black circle on a white background",
  "a blue circle on a orange and white background",
  "three yellow triangles",
];

/**
 * Seeds: one generate() call per (seed, chunk of prompts); call seed = base + 10·j + chunk. The calibration run
 * uses seeds 100 + k (one per prompt), so these never overlap it.
 */
export const SEED_BASE = 500;
export const SEEDS_PER_PROMPT = 4;

#!/usr/bin/env node
// Renders docs/samples.png: a grid of toy-model outputs from this engine (the README shows it).
// Usage: node scripts/sample-grid.mjs [--quant none|w8a8|w4a8] [--out docs/samples.png]
import { fileURLToPath } from "node:url";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const root = fileURLToPath(new URL("../", import.meta.url));
const { QSchedPipeline, encodePng, upscaleNearest } = await import(join(root, "dist/node/index.js"));
const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const prompts = [
  "a red circle on a blue background",
  "two yellow squares",
  "a white star on a black background",
  "a purple ring in the center",
  "a blue square at the bottom right on a yellow background",
  "a large yellow star on a purple background",
  "a green ring on a white background",
  "a large purple circle",
];
const pipe = await QSchedPipeline.fromPretrained(join(root, "models/toy-shapes"), { quant: opt("--quant", "none") });
const scale = 2;
const tile = 64 * scale;
const cols = 4;
const rows = Math.ceil(prompts.length / cols);
const grid = { width: cols * tile, height: rows * tile, data: new Uint8ClampedArray(cols * tile * rows * tile * 4) };
for (const [i, prompt] of prompts.entries()) {
  const img = upscaleNearest((await pipe.generate({ prompt, seed: 100 + i, steps: 4, guidanceScale: 2 })).images[0], scale);
  const ox = (i % cols) * tile;
  const oy = Math.floor(i / cols) * tile;
  for (let y = 0; y < tile; y++) grid.data.set(img.data.subarray(y * tile * 4, (y + 1) * tile * 4), ((oy + y) * grid.width + ox) * 4);
  console.log(`${i + 1}/${prompts.length} ${prompt} (seed ${100 + i})`);
}
pipe.dispose();
const out = join(root, opt("--out", "docs/samples.png"));
writeFileSync(out, await encodePng(grid));
console.log(`wrote ${out}`);

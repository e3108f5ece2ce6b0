/**
 * clipPreprocess (GPU CLIPImageProcessor) vs the CPU reference `clipPixelValues`, bit for bit, on seeded RGBA8
 * images of awkward sizes (non-square, odd, up- and down-scaled, outputs not a multiple of the workgroup).
 * Shared by the Node (vitest) and browser (puppeteer) runs; outputs are poisoned with NaN by the callers.
 */
import type { Gpu } from "../../src/gpu/runtime.ts";
import { CLIP_MEAN, CLIP_STD, clipPixelValues } from "../../src/models/clip-vision/preprocess.ts";
import { clipPreprocess } from "../../src/ops/clip-preprocess.ts";
import { assert, assertRejects } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";

/** Smooth waves plus noise and a few saturated blocks, so the bicubic overshoot hits the 0/255 clipping. */
export function syntheticRgba(h: number, w: number, seed: number): Uint32Array {
  const noise = seeded(h * w * 3, seed, -40, 40);
  const px = new Uint32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const block = ((x >> 2) + (y >> 2) + seed) % 7 === 0 ? 255 : ((x >> 3) + (y >> 1)) % 11 === 0 ? 0 : -1;
      const ch = [0, 1, 2].map((c) => {
        if (block >= 0) return block;
        const v = 128 + 90 * Math.sin((x * (c + 1)) / 5 + seed) * Math.cos(y / (3 + c)) + noise[i * 3 + c]!;
        return Math.min(255, Math.max(0, Math.round(v)));
      });
      px[i] = (ch[0]! | (ch[1]! << 8) | (ch[2]! << 16) | (255 << 24)) >>> 0;
    }
  }
  return px;
}

/** Image b of an [N, H, W] RGBA8 batch as the CPU reference's H×W×3 bytes. */
function rgbOf(px: Uint32Array, b: number, h: number, w: number): { data: Uint8Array; height: number; width: number } {
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = (px[b * h * w + i]! >>> (8 * c)) & 255;
  return { data, height: h, width: w };
}

function assertExact(got: Float32Array, want: Float32Array, what: string): void {
  assert(got.length === want.length, `${what}: length ${got.length}, expected ${want.length}`);
  let diff = 0;
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (!(got[i] === want[i])) {
      diff++;
      if (first < 0) first = i;
    }
  }
  assert(diff === 0, `${what}: ${diff} of ${got.length} values differ from the CPU reference (first at ${first}: ${got[first]} vs ${want[first]})`);
}

// [n, h, w, size, crop]: identity (toy scorer at 64), upscale non-square odd, downscale with a smaller crop,
// the golden's 64×97 → 224, a portrait downscale whose plane (45²) is not a multiple of 256.
const SHAPES: [number, number, number, number, number][] = [
  [1, 64, 64, 64, 64],
  [2, 37, 53, 64, 64],
  [1, 200, 131, 64, 60],
  [1, 64, 97, 224, 224],
  [1, 301, 90, 45, 45],
];

export const clipPreprocessCases: KernelCase[] = [
  {
    name: "clipPreprocess matches the CPU CLIPImageProcessor bit for bit (up/down-scale, non-square, odd sizes)",
    async run(gpu: Gpu) {
      for (const [n, h, w, size, crop] of SHAPES) {
        const px = new Uint32Array(n * h * w);
        for (let b = 0; b < n; b++) px.set(syntheticRgba(h, w, 3 + b + h), b * h * w);
        const rgba = gpu.upload(px, [n, h, w], "u32", "rgba8");
        const y = await clipPreprocess(gpu, rgba, { size, crop, mean: CLIP_MEAN, std: CLIP_STD });
        assert(y.dtype === "f32" && y.shape.join() === `${n},3,${crop},${crop}`, `output ${y}`);
        const got = await gpu.read(y);
        const want = new Float32Array(n * 3 * crop * crop);
        for (let b = 0; b < n; b++) want.set(clipPixelValues(rgbOf(px, b, h, w), size, crop), b * 3 * crop * crop);
        assertExact(got, want, `${n}×${h}×${w} → ${size}/${crop}`);
        rgba.dispose();
        y.dispose();
      }
    },
  },
  {
    name: "clipPreprocess writes images of different sizes into one batch (into.at), other rows untouched",
    async run(gpu: Gpu) {
      const out = gpu.empty([3, 3, 40, 40], "f32", "batch");
      const plane = 3 * 40 * 40;
      const sizes: [number, number][] = [[50, 77], [40, 40], [23, 41]];
      const want = new Float32Array(3 * plane);
      for (const [at, [h, w]] of sizes.entries()) {
        const px = syntheticRgba(h, w, 11 + at);
        const rgba = gpu.upload(px, [1, h, w], "u32", "rgba8");
        const r = await clipPreprocess(gpu, rgba, { size: 40, mean: CLIP_MEAN, std: CLIP_STD, into: { out, at } });
        assert(r === out, "into returns the target tensor");
        want.set(clipPixelValues(rgbOf(px, 0, h, w), 40, 40), at * plane);
        rgba.dispose();
        if (at === 0) {
          const partial = await gpu.read(out);
          // Poisoned rows 1 and 2 must still be NaN when poisoning is on (what the kernel did not write).
          if (gpu.poisonOutputs) assert(partial.subarray(plane).every((v) => Number.isNaN(v)), "rows after `at` were written");
        }
      }
      assertExact(await gpu.read(out), want, "batched into");
      out.dispose();
    },
  },
  {
    name: "clipPreprocess rejects bad input with the rule and the values",
    async run(gpu: Gpu) {
      const f = gpu.upload(seeded(12, 1), [1, 3, 4]);
      const u = gpu.upload(new Uint32Array(12), [1, 3, 4], "u32");
      const opts = { size: 8, mean: CLIP_MEAN, std: CLIP_STD };
      await assertRejects(clipPreprocess(gpu, f, opts), /clipPreprocess: rgba must be u32 \(packed RGBA8\), got f32/, "dtype");
      await assertRejects(clipPreprocess(gpu, u.view([12]), opts), /rank 3/, "rank");
      await assertRejects(clipPreprocess(gpu, u, { ...opts, crop: 20 }), /crop 20 exceeds the resized image 8×10/, "crop");
      const small = gpu.empty([1, 3, 8, 8], "f32");
      await assertRejects(clipPreprocess(gpu, u, { ...opts, into: { out: small, at: 1 } }), /cannot take 1 images of 3×8×8 f32 from row 1/, "into");
      for (const t of [f, u, small]) t.dispose();
    },
  },
];

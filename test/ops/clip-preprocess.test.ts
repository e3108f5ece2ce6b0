/**
 * GPU CLIP preprocessing: the shared cases (vs the CPU reference) and the clip oracle's preprocessing cases —
 * transformers' pixel_values for the 512², 64² and 64×97 uint8 images, bit-exact (README: Pillow's fixed-point
 * bicubic is reproducible exactly; another bicubic may move bytes by 1). The shipped subset has no pixel_values,
 * so there the GPU result is checked against the CPU reference on its image.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIP_MEAN, CLIP_STD, clipPixelValues } from "../../src/models/clip-vision/preprocess.ts";
import { clipPreprocess } from "../../src/ops/clip-preprocess.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { clipPreprocessCases } from "../cases/clip-preprocess.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("clipPreprocess (Node, Dawn)", () => {
  for (const c of clipPreprocessCases) it(c.name, async () => c.run(await testGpu()));
});

/** uint8 H×W×3 → RGBA8 words. */
function packRgba(data: Uint8Array, h: number, w: number): Uint32Array {
  return Uint32Array.from({ length: h * w }, (_, i) => (data[i * 3]! | (data[i * 3 + 1]! << 8) | (data[i * 3 + 2]! << 16) | (255 << 24)) >>> 0);
}

function differing(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i])) d++;
  return d;
}

describe("clipPreprocess vs the clip oracle's preprocessing cases", () => {
  const full = fullGoldenDir();
  const folder = full && existsSync(join(full, "clip/image_cases.safetensors")) ? join(full, "clip") : join(FIXTURE_GOLDEN, "clip");
  console.log(`[golden] clip preprocessing: ${folder.startsWith(FIXTURE_GOLDEN) ? "shipped subset (no stored pixel_values; CPU reference)" : "full oracle RUNS"}`);

  it("pixel_values bit-exact", async () => {
    const gpu = await testGpu();
    const st = readSafetensorsFileSync(join(folder, "image_cases.safetensors"));
    const names = [...st.entries.keys()].filter((k) => /^image_\d+$/.test(k)).sort();
    const stored = st.entries.has("pixel_values") ? st.f32("pixel_values") : undefined;
    const plane = 3 * 224 * 224;
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const [h, w] = st.shape(name) as [number, number];
      const u8 = st.typed(name) as Uint8Array;
      const rgba = gpu.upload(packRgba(u8, h, w), [1, h, w], "u32", "rgba8");
      const y = await clipPreprocess(gpu, rgba, { size: 224, mean: CLIP_MEAN, std: CLIP_STD });
      const got = await gpu.read(y);
      const i = Number(name.slice(6));
      const want = stored ? stored.subarray(i * plane, (i + 1) * plane) : clipPixelValues({ data: u8, height: h, width: w });
      expect(differing(got, want), `${name} (${h}×${w}) differs from ${stored ? "transformers" : "the CPU reference"}`).toBe(0);
      rgba.dispose();
      y.dispose();
    }
  });
});

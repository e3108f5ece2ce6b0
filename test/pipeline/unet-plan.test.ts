/**
 * The denoising loop replays a recorded UNet plan (src/pipeline/unet-plan.ts) instead of dispatching
 * eagerly; the eager path is what the diffusers traces check. Same kernels on the same inputs, so the
 * two must agree bit for bit — per step (previews of x0) and in the final image — for the toy model
 * (CFG batch 2, float and W4A8) and, on the full oracle, LCM (guidance embedding input) and SDXL
 * (pooled embeds and time ids).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { FromPretrainedOptions, GenerateOptions } from "../../src/pipeline/types.ts";
import { fullGoldenDir, REPO_ROOT } from "../helpers/golden.ts";

async function bothWays(dir: string, load: FromPretrainedOptions, gen: GenerateOptions) {
  const pipe = await QSchedPipeline.fromPretrained(dir, load);
  try {
    const run = async (unetPlan: boolean) => {
      const previews: Buffer[] = [];
      const r = await pipe.generate({ ...gen, unetPlan, preview: true, onStep: (e) => void previews.push(Buffer.from(e.preview![0]!.data)) });
      return { image: Buffer.from(r.images[0]!.data), previews, live: pipe.gpu.pool.live };
    };
    const eager = await run(false);
    const planned = await run(true);
    return { eager, planned };
  } finally {
    pipe.dispose();
  }
}

function expectSame(r: Awaited<ReturnType<typeof bothWays>>, steps: number) {
  expect(r.planned.previews).toHaveLength(steps);
  r.planned.previews.forEach((p, i) => expect(p.equals(r.eager.previews[i]!), `step ${i + 1}`).toBe(true));
  expect(r.planned.image.equals(r.eager.image)).toBe(true);
  expect(r.planned.live).toBe(r.eager.live); // the plan's arena is freed when the loop ends
}

const TOY = join(REPO_ROOT, "models/toy-shapes");
const gen = { prompt: "a green ring on a white background", seed: 106, steps: 3, guidanceScale: 2 };

describe("UNet plan replay equals eager dispatch", () => {
  it("toy model, float, CFG", async () => expectSame(await bothWays(TOY, {}, gen), 3));
  it("toy model, W4A8 (per-token activation quantization inside the plan)", async () => expectSame(await bothWays(TOY, { quant: "w4a8" }, gen), 3));

  const full = fullGoldenDir();
  if (!full) {
    console.log("[golden] unet plan: full oracle NOT available; LCM/SDXL plan checks NOT run (toy checks ran)");
    return;
  }
  console.log(`[golden] unet plan: full oracle at ${full} RUNS`);
  it("tiny LCM (timestep_cond), W8A8", async () => {
    expectSame(await bothWays(join(full, "tiny-lcm-sd15"), { quant: "w8a8" }, { prompt: "a photo of a cat", seed: 3, steps: 3, guidanceScale: 8, width: 64, height: 64 }), 3);
  });
  it("tiny SDXL-Turbo (text_embeds, time ids), 2 steps", async () => {
    expectSame(await bothWays(join(full, "tiny-sdxl-turbo"), {}, { prompt: "a photo of a cat", seed: 3, steps: 2, width: 64, height: 96 }), 2);
  });
});

describe("debug mode: generate({ checkFinite: true })", () => {
  it("gives the same image on a sound model, and names the module and kernel that first produce a NaN", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      const plain = Buffer.from((await pipe.generate({ ...gen, steps: 2 })).images[0]!.data);
      const checked = Buffer.from((await pipe.generate({ ...gen, steps: 2, checkFinite: true })).images[0]!.data);
      expect(checked.equals(plain)).toBe(true);
      // One NaN in one conv weight: everything downstream turns NaN, and the report must name this layer.
      const unet = (pipe as unknown as { unet: { weights: { get(n: string): import("../../src/gpu/tensor.ts").Tensor } } }).unet;
      const w = unet.weights.get("down_blocks.1.resnets.0.conv2.weight");
      const values = await pipe.gpu.read(w);
      values[7] = Number.NaN;
      pipe.gpu.write(w, values);
      await expect(pipe.generate({ ...gen, steps: 2, checkFinite: true })).rejects.toThrow(/non-finite value NaN .*\(conv2d[^)]*\) in module "down_blocks\.1\.resnets\.0\.conv2"/);
    } finally {
      pipe.dispose();
    }
  });
});

import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { REPO_ROOT } from "../helpers/golden.ts";
import { psnrRgb as psnr } from "../helpers/images.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");

// Policy `all` (ours): convolutions quantized too (weights; the conv kernel dequantizes in its
// weight read), judged against the float model by PSNR. Measured on this toy: W4A8 torchao 37.4 dB,
// W4A8 all 37.3 dB, W8A8 all 53.6 dB (seed 109, 4 steps); the bounds leave room for adapter rounding.
describe("quantization policy all on the toy model", () => {
  it("quantizes the convolutions (not conv_in/conv_out), changes the image a little, and uses less memory", async () => {
    const gen = async (opts: Parameters<typeof QSchedPipeline.fromPretrained>[1]) => {
      const pipe = await QSchedPipeline.fromPretrained(TOY, opts);
      const held = pipe.gpu.pool.held;
      const img = (await pipe.generate({ prompt: "a large yellow star on a purple background", seed: 109, steps: 4, guidanceScale: 2 })).images[0]!;
      const convs = [...((pipe as unknown as { unet: { quantized: { convs: Map<string, unknown> } | null } }).unet.quantized?.convs.keys() ?? [])];
      pipe.dispose();
      return { img, held, convs };
    };
    const float = await gen({});
    const torchao = await gen({ quant: "w4a8" });
    const all = await gen({ quant: "w4a8", policy: "all" });
    expect(torchao.convs).toEqual([]);
    expect(all.convs.length).toBeGreaterThan(10);
    expect(all.convs).not.toContain("conv_in");
    expect(all.convs).not.toContain("conv_out");
    const p = psnr(float.img.data, all.img.data);
    expect(p).toBeGreaterThan(25);
    expect(p).toBeLessThan(60); // identical images would mean the convs were not quantized after all
    expect(psnr(torchao.img.data, all.img.data)).toBeLessThan(60);
    expect(all.held).toBeLessThan(torchao.held);
  });
});

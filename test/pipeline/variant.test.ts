/**
 * fromPretrained({ variant }): diffusers' weight variants (the Hub's `*.fp16.safetensors` beside the full-precision
 * files). A copy of the toy whose every component exists only under the "fp16" variant names (single file and
 * sharded index) must be refused without the option, naming the files looked for, and load with it to the same
 * image as the original folder.
 */
import { cpSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { REPO_ROOT } from "../helpers/golden.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const dir = mkdtempSync(join(tmpdir(), "qsched-variant-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("weight variants", () => {
  it('variant "fp16" reads *.fp16.safetensors and sharded *.safetensors.index.fp16.json; without it the load names what it looked for', async () => {
    cpSync(TOY, dir, { recursive: true });
    renameSync(join(dir, "vae/diffusion_pytorch_model.safetensors"), join(dir, "vae/diffusion_pytorch_model.fp16.safetensors"));
    renameSync(join(dir, "unet/diffusion_pytorch_model.safetensors.index.json"), join(dir, "unet/diffusion_pytorch_model.safetensors.index.fp16.json"));
    renameSync(join(dir, "text_encoder/model.safetensors.index.json"), join(dir, "text_encoder/model.safetensors.index.fp16.json"));
    await expect(QSchedPipeline.fromPretrained(dir)).rejects.toThrow(/no weights: looked for .*diffusion_pytorch_model\.safetensors/);
    const args = { prompt: "a red circle on a blue background", seed: 3, steps: 2, guidanceScale: 2 };
    const variant = await QSchedPipeline.fromPretrained(dir, { variant: "fp16" });
    const a = (await variant.generate(args)).images[0]!.data;
    variant.dispose();
    const plain = await QSchedPipeline.fromPretrained(TOY);
    const b = (await plain.generate(args)).images[0]!.data;
    plain.dispose();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

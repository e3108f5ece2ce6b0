/**
 * generate()'s memory check before anything is allocated: the VAE runs activations over the binding limit as channel
 * slices of whole GroupNorm groups (src/models/vae/channel-slices.ts), so what must fit one binding is one group of
 * its widest layer at the image size, not the whole activation.
 */
import { describe, expect, it } from "vitest";
import { checkGenerateOptions } from "../../src/pipeline/generate-options.ts";

const MIB = 2 ** 20;
// SD's VAE: 512 channels at its widest, 32 groups → 16-channel slices.
const SD_SLICE = 512 / 32;

describe("generate() memory check", () => {
  it("accepts SD 512² and SDXL 1024² under lavapipe's 128 MiB binding limit (their whole activations exceed it)", () => {
    expect(checkGenerateOptions({ prompt: "a cat" }, "sd", 4, SD_SLICE, 128 * MIB).width).toBe(512);
    expect(checkGenerateOptions({ prompt: "a cat" }, "sdxl", 4, SD_SLICE, 128 * MIB).width).toBe(1024);
    expect(checkGenerateOptions({ prompt: "a cat", batchSize: 2, width: 2048, height: 2048 }, "sdxl", 4, SD_SLICE, 1024 * MIB).height).toBe(2048);
  });

  it("refuses a batch whose one-group slice exceeds the limit, with the sizes in the message", () => {
    // 16 channels × 2048² × 4 B × 4 images = 1 GiB.
    expect(() => checkGenerateOptions({ prompt: "a cat", batchSize: 4, width: 2048, height: 2048 }, "sdxl", 4, SD_SLICE, 128 * MIB)).toThrow(
      /batch 4 at 2048×2048 needs 1024 MiB VAE activation slices \(one GroupNorm group\), over this adapter's maxStorageBufferBindingSize of 128 MiB/,
    );
  });
});

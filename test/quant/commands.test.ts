import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fullGoldenDir } from "../helpers/golden.ts";
import { run as quantize } from "../../weights-tools/commands/quantize.ts";
import { run as verify } from "../../weights-tools/commands/verify-pack.ts";
import { readPack } from "../../src/quant/pack.ts";
import { encodeSafetensors, type TensorToWrite } from "../../src/weights/safetensors/index.ts";

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());

/** Deterministic pseudo-random float32 values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A minimal diffusers folder: <dir>/unet/diffusion_pytorch_model.safetensors with linear, conv, norm and F16 tensors. */
function syntheticModel(mutate?: (t: Record<string, TensorToWrite>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "qcmd-"));
  mkdirSync(join(dir, "unet"));
  const f16 = new Uint16Array(64 * 96).fill(0x3c00); // 1.0 everywhere
  const tensors: Record<string, TensorToWrite> = {
    "conv_in.weight": { dtype: "F32", shape: [32, 4, 3, 3], data: values(32 * 36, 1) },
    "blocks.0.conv1.weight": { dtype: "F32", shape: [40, 32, 3, 3], data: values(40 * 288, 2) },
    "blocks.0.conv1.bias": { dtype: "F32", shape: [40], data: values(40, 3) },
    "blocks.0.norm1.weight": { dtype: "F32", shape: [40], data: values(40, 4) },
    "blocks.0.attn.to_q.weight": { dtype: "F32", shape: [24, 64], data: values(24 * 64, 5) },
    "blocks.0.ff.weight": { dtype: "F16", shape: [64, 96], data: f16 },
    "blocks.0.small.weight": { dtype: "F32", shape: [8, 16], data: values(8 * 16, 6) },
  };
  mutate?.(tensors);
  writeFileSync(join(dir, "unet/diffusion_pytorch_model.safetensors"), encodeSafetensors(tensors));
  return dir;
}

describe("weights-tools quantize / verify on a synthetic model", () => {
  it("W4A16 policy all, group 32: quantizes linears and the 3×3 conv, keeps conv_in, norms and K=16 float; verify passes", async () => {
    const dir = syntheticModel();
    const out = join(dir, "pack.safetensors");
    expect(await quantize([dir, "--component", "unet", "--scheme", "w4a16", "--policy", "all", "--group-size", "32", "--out", out])).toBe(0);
    const pack = readPack(out);
    expect([...pack.quantized.keys()].sort()).toEqual(["blocks.0.attn.to_q.weight", "blocks.0.conv1.weight", "blocks.0.ff.weight"]);
    expect(pack.quantized.get("blocks.0.conv1.weight")!.layout).toMatchObject({ shape: [40, 32, 3, 3], n: 40, k: 288, group_size: 32 });
    expect(pack.floats.get("blocks.0.small.weight")!.shape).toEqual([8, 16]); // K = 16 is not a multiple of 32
    expect(pack.info.sourceModel).toBe(dir.split("/").pop());
    lines = [];
    expect(await verify([out, dir])).toBe(0);
    const conv = lines.find((l) => l.startsWith("blocks.0.conv1.weight"))!;
    // Uniform values on [-1, 1), 15 steps per group: step ≈ 2/15, error RMS step/√12, signal RMS 1/√3, so
    // rel RMS ≈ (2/15)/√12·√3 = 1/15 ≈ 0.067 (a little less since a group of 32 spans less than [-1, 1)).
    const relRms = Number(/rel_rms=([^ ]+)/.exec(conv)![1]);
    expect(relRms).toBeGreaterThan(0.04);
    expect(relRms).toBeLessThan(0.07);
    expect(conv).toMatch(/code_words_differing=0/);
    // A tensor of all ones dequantizes exactly (its group range is zero, the zero point carries the value).
    expect(lines.find((l) => l.startsWith("blocks.0.ff.weight"))).toMatch(/max_abs=0\.000e\+0/);
  });

  it("verify exits 1 when the source has a tensor the pack lacks or a changed shape", async () => {
    const dir = syntheticModel();
    const out = join(dir, "pack.safetensors");
    expect(await quantize([dir, "--component", "unet", "--scheme", "w8a8", "--out", out])).toBe(0);
    const other = syntheticModel((t) => {
      t["blocks.0.extra.bias"] = { dtype: "F32", shape: [2], data: new Float32Array(2) };
      t["blocks.0.attn.to_q.weight"] = { dtype: "F32", shape: [32, 48], data: values(32 * 48, 5) };
    });
    lines = [];
    expect(await verify([out, other, "--quiet"])).toBe(1);
    expect(lines).toContain("MISMATCH blocks.0.extra.bias: in the source, not in the pack");
    expect(lines).toContain("MISMATCH blocks.0.attn.to_q.weight: pack layout shape [24,64], source [32,48]");
  });

  it("rejects bad arguments (scheme, group size) with exit code 2 before reading anything; makes the output's folder", async () => {
    expect(await quantize(["x", "--scheme", "w4a8", "--out", "y"])).toBe(2);
    expect(lines.join("\n")).toMatch(/--component is required/);
    const dir = syntheticModel();
    expect(await quantize([dir, "--component", "unet", "--scheme", "w3a8", "--out", join(dir, "p")])).toBe(2);
    expect(lines.join("\n")).toMatch(/unknown quantization scheme "w3a8"/);
    // A group size the scheme cannot store used to skip every tensor and write a float-only "pack" (exit 0).
    expect(await quantize([dir, "--component", "unet", "--scheme", "w4a8", "--group-size", "0", "--out", join(dir, "p")])).toBe(2);
    expect(lines.join("\n")).toMatch(/W4A8: group size 0 is not one of 32, 64, 128, 256/);
    expect(await quantize([dir, "--component", "unet", "--scheme", "w8a8", "--group-size", "32", "--out", join(dir, "p")])).toBe(2);
    expect(existsSync(join(dir, "p"))).toBe(false);
    expect(await quantize([dir, "--component", "unet", "--scheme", "w4a8", "--out", join(dir, "new/folder/p.safetensors")])).toBe(0);
    expect(existsSync(join(dir, "new/folder/p.safetensors"))).toBe(true);
    expect(await verify(["only-one"])).toBe(2);
    lines = [];
    expect(await quantize(["--help"])).toBe(0);
    expect(lines.join("\n")).toMatch(/^usage: weights-tools quantize/);
  });
});

// The tiny sd-turbo pipeline ships only with the full oracle; registered where it exists (never skipped).
const golden = fullGoldenDir();
describe.each(golden ? [join(golden, "tiny-sd-turbo")] : [])("weights-tools on tiny-sd-turbo (%s)", (model) => {
  it("W4A8 torchao pack: 170 linears quantized like torchao; verify passes", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "qsdt-")), "unet-w4a8.safetensors");
    expect(await quantize([model, "--component", "unet", "--scheme", "w4a8", "--out", out])).toBe(0);
    expect(lines.at(-1)).toMatch(/170 tensors quantized/);
    lines = [];
    expect(await verify([out, model, "--quiet"])).toBe(0);
    expect(lines.at(-1)).toMatch(/170 quantized tensors checked, .* 0 mismatches/);
  });
  it("W8A8 all-policy pack verifies; the text encoder is not the UNet's source", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "qsdt-")), "unet-w8a8-all.safetensors");
    expect(await quantize([model, "--component", "unet", "--scheme", "w8a8", "--policy", "all", "--out", out])).toBe(0);
    expect(await verify([out, model, "--quiet"])).toBe(0);
    expect(await verify([out, model, "--component", "text_encoder", "--quiet"])).toBe(1);
  });
});

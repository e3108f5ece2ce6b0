/**
 * Packed pipelines (`weights-tools pack-pipeline`) on the embedded toy model: loading the pack gives
 * the same codes as quantizing the float folder at load, so generate() is bit-identical; the pack's
 * scheme and policy win (a different request is an error); a pack for another model is refused;
 * `qsched: "auto"` picks up qsched.json; and all of it works over HTTP Range requests.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { FromPretrainedOptions, LoadProgress } from "../../src/pipeline/types.ts";
import { openComponentSource } from "../../src/quant/component-source.ts";
import { writePack, type TensorSource } from "../../src/quant/pack.ts";
import { packFilePath } from "../../src/quant/packed-pipeline.ts";
import { parsePolicy } from "../../src/quant/policy.ts";
import { serializeCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { run as packPipeline } from "../../weights-tools/commands/pack-pipeline.ts";
import { REPO_ROOT } from "../helpers/golden.ts";
// @ts-expect-error plain ESM helper without types
import { startStaticServer } from "../../scripts/static-server.mjs";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const PROMPT = "a red circle on a blue background";
const M = 1.1;
const S = 1.07;
let dir: string;
const packed = (name: string) => join(dir, name);

async function pack(args: string[]): Promise<void> {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    expect(await packPipeline([...args, "--quiet"])).toBe(0);
  } finally {
    log.mockRestore();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "qsched-packed-"));
  const coeffs = join(dir, "coeffs.json");
  writeFileSync(coeffs, serializeCoefficientFile({ model: "toy", steps: 2, qsched: { scheme: "linear", m: M, s: S }, quant: "W4A8" }));
  await pack([TOY, "--scheme", "w4a8", "--qsched", coeffs, "--out", packed("w4a8")]);
  await pack([TOY, "--scheme", "w8a8", "--policy", "all", "--out", packed("w8a8-all")]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One generate(): the image and the final latents, read back. */
async function generate(pipe: QSchedPipeline, steps: number, guidanceScale = 1): Promise<{ image: Uint8ClampedArray; latents: Float32Array }> {
  let latents: Float32Array | undefined;
  const r = await pipe.generate({
    prompt: PROMPT,
    seed: 11,
    steps,
    guidanceScale,
    trace: async (name, v) => {
      if (name === "final_latents") latents = new Float32Array(await pipe.gpu.read(v as Tensor));
    },
  });
  return { image: r.images[0]!.data, latents: latents! };
}

async function loadAndGenerate(source: string, opts: FromPretrainedOptions, steps: number, guidanceScale = 1) {
  const pipe = await QSchedPipeline.fromPretrained(source, opts);
  try {
    const live = pipe.gpu.pool.live;
    const convs = (pipe as unknown as { unet: { quantized: { convs: Map<string, unknown> } | null } }).unet.quantized?.convs.size ?? 0;
    return { pipe, live, convs, ...(await generate(pipe, steps, guidanceScale)) };
  } finally {
    pipe.dispose();
  }
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Buffer.from(new Float32Array(a).buffer).equals(Buffer.from(new Float32Array(b).buffer));

describe("a packed pipeline generates exactly what quantizing at load does", () => {
  let w4a8Image: Uint8ClampedArray;

  it("W4A8 torchao: same latents and image bits, same GPU bytes; scheme and policy come from the pack", async () => {
    // One step with classifier-free guidance (batch 2); 1-step Euler returns the x0 prediction, all UNet.
    const float = await loadAndGenerate(TOY, { quant: "w4a8" }, 1, 2);
    const fromPack = await loadAndGenerate(packed("w4a8"), {}, 1, 2);
    expect(fromPack.pipe.quant).toBe("w4a8");
    expect(fromPack.pipe.pack?.info).toMatchObject({ scheme: "W4A8", policy: "torchao", groupSize: 32, component: "unet" });
    expect(float.pipe.pack).toBeNull();
    expect(sameBits(fromPack.latents, float.latents)).toBe(true);
    expect(Buffer.from(fromPack.image).equals(Buffer.from(float.image))).toBe(true);
    expect(fromPack.live).toBe(float.live); // the same packed buffers and float weights were uploaded
    w4a8Image = fromPack.image;
  });

  it("W8A8 policy all (convolutions packed too): bit-identical to quant w8a8, policy all", async () => {
    const float = await loadAndGenerate(TOY, { quant: "w8a8", policy: "all" }, 1);
    const fromPack = await loadAndGenerate(packed("w8a8-all"), { quant: "w8a8" }, 1);
    expect(fromPack.convs).toBeGreaterThan(10);
    expect(fromPack.convs).toBe(float.convs);
    expect(sameBits(fromPack.latents, float.latents)).toBe(true);
    expect(Buffer.from(fromPack.image).equals(Buffer.from(float.image))).toBe(true);
    expect(fromPack.live).toBe(float.live);
  });

  it("over HTTP (Range requests from a static server): the same image, with download progress for the pack", async () => {
    const { server, port } = await startStaticServer(packed("w4a8"));
    try {
      const events: LoadProgress[] = [];
      const r = await loadAndGenerate(`http://127.0.0.1:${port}/`, { onProgress: (p) => void events.push(p) }, 1, 2);
      expect(r.pipe.quant).toBe("w4a8");
      expect(r.pipe.pack?.location).toBe(`http://127.0.0.1:${port}/${packFilePath("unet")}`);
      expect(Buffer.from(r.image).equals(Buffer.from(w4a8Image))).toBe(true);
      const unet = events.filter((e) => e.component === "unet");
      expect(unet.length).toBeGreaterThan(50); // one event per tensor
      expect(unet.at(-1)!.bytesDone).toBe(unet.at(-1)!.bytesTotal);
      // The tensors of the pack (its file minus the header), not a float UNet's 5 MB.
      const packBytes = readFileSync(join(packed("w4a8"), packFilePath("unet"))).length;
      expect(unet.at(-1)!.bytesTotal).toBeLessThan(packBytes);
      expect(unet.at(-1)!.bytesTotal).toBeGreaterThan(packBytes - 64 * 1024);
    } finally {
      server.close();
    }
  });
});

describe("a packed pipeline decides scheme and policy, and refuses a pack for another model", () => {
  it("quant or policy other than the pack's is an error naming both, raised before anything is uploaded", async () => {
    const gpu = await Gpu.create();
    await expect(QSchedPipeline.fromPretrained(packed("w4a8"), { gpu, quant: "w8a8" })).rejects.toThrow(/this pack is W4A8; quant: w8a8 was requested/);
    await expect(QSchedPipeline.fromPretrained(packed("w4a8"), { gpu, quant: "none" })).rejects.toThrow(/this pack is W4A8; quant: none was requested/);
    await expect(QSchedPipeline.fromPretrained(packed("w8a8-all"), { gpu, policy: "torchao" })).rejects.toThrow(
      /this pack was quantized with policy all; policy: torchao was requested/,
    );
    expect(gpu.pool.live).toBe(0);
  });

  it("a unet config.json that differs from the one the pack was made from is refused, naming the keys", async () => {
    const other = join(dir, "other-config");
    cpSync(packed("w4a8"), other, { recursive: true });
    const configPath = join(other, "unet/config.json");
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    rmSync(configPath);
    writeFileSync(configPath, JSON.stringify({ ...config, block_out_channels: [32, 64] }));
    const gpu = await Gpu.create();
    await expect(QSchedPipeline.fromPretrained(other, { gpu })).rejects.toThrow(
      /qpack\.safetensors: a quantized pack for another model \(made from toy-shapes\): block_out_channels is \[32,64\] in config.json but \[64,96\] in the pack's/,
    );
    expect(gpu.pool.live).toBe(0);
  });

  it("a pack whose tensor shape does not fit the config (tampered) fails at the first UNet call, naming tensor and shapes", async () => {
    const tampered = join(dir, "tampered");
    cpSync(packed("w4a8"), tampered, { recursive: true });
    const name = "down_blocks.1.attentions.0.proj_in.weight"; // [96, 96] in the toy, packed as [48, 192]
    const comp = await openComponentSource(TOY, "unet");
    const source: TensorSource = {
      specs: comp.source.specs.map((s) => (s.name === name ? { ...s, shape: [48, 192] } : s)),
      read: comp.source.read,
    };
    const packPath = join(tampered, packFilePath("unet"));
    rmSync(packPath);
    const config = JSON.parse(readFileSync(join(TOY, "unet/config.json"), "utf8"));
    writePack(packPath, source, { scheme: "W4A8", policy: parsePolicy("torchao"), sourceModel: "toy-shapes", component: "unet", componentConfig: config });
    comp.close();
    const pipe = await QSchedPipeline.fromPretrained(tampered, {});
    try {
      await expect(pipe.generate({ prompt: PROMPT, seed: 1, steps: 1 })).rejects.toThrow(
        /unet: quantized "down_blocks\.1\.attentions\.0\.proj_in\.weight" is \[48, 192\], the model config expects \[96, 96\]/,
      );
    } finally {
      pipe.dispose();
    }
  });
});

describe('qsched: "auto"', () => {
  it("uses the packed folder's qsched.json for the loaded scheme, and says so", async () => {
    const pipe = await QSchedPipeline.fromPretrained(packed("w4a8"), { qsched: "auto" });
    try {
      expect(pipe.qschedSource).toEqual({ kind: "file", location: join(packed("w4a8"), "qsched.json"), quant: "W4A8", steps: 2 });
      const auto = await generate(pipe, 2);
      pipe.setQSched({ m: M, s: S });
      expect(pipe.qschedSource).toEqual({ kind: "option" });
      expect(sameBits((await generate(pipe, 2)).latents, auto.latents)).toBe(true);
      pipe.setQSched(null);
      expect(pipe.qschedSource).toEqual({ kind: "none" });
      expect(sameBits((await generate(pipe, 2)).latents, auto.latents)).toBe(false);
    } finally {
      pipe.dispose();
    }
  });

  it("uses the file only at the step count it was calibrated for: another count runs (1, 1), with a warning", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const pipe = await QSchedPipeline.fromPretrained(packed("w4a8"), { qsched: "auto" });
    try {
      const oneStep = await generate(pipe, 1);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/qsched\.json was calibrated for 2 steps, but this call runs 1; using \(m, s\) = \(1, 1\)$/));
      pipe.setQSched(null);
      expect(sameBits((await generate(pipe, 1)).latents, oneStep.latents)).toBe(true);
    } finally {
      pipe.dispose();
      warn.mockRestore();
    }
  });

  it("falls back to (1, 1) with a warning without a file, or with a file for another scheme", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const other = join(dir, "w8a8-with-w4a8-coeffs");
    cpSync(packed("w8a8-all"), other, { recursive: true });
    cpSync(join(packed("w4a8"), "qsched.json"), join(other, "qsched.json"));
    try {
      const float = await QSchedPipeline.fromPretrained(TOY, { quant: "w4a8", qsched: "auto" });
      float.dispose();
      expect(float.qschedSource).toMatchObject({ kind: "fallback" });
      expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(expect.stringMatching(/^qsched: "auto" found no coefficient file \(qsched\.json\) with this model; using \(m, s\) = \(1, 1\)$/));
      warn.mockClear();
      const mismatched = await QSchedPipeline.fromPretrained(other, { qsched: "auto" });
      mismatched.dispose();
      expect(mismatched.qschedSource).toMatchObject({ kind: "fallback", reason: expect.stringMatching(/was calibrated for W4A8, but the pipeline loaded W8A8/) });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/qsched\.json was calibrated for W4A8, but the pipeline loaded W8A8; using \(m, s\) = \(1, 1\)/));
      // The same scheme with the other policy (convolutions quantized too) is another model.
      const otherPolicy = join(dir, "w4a8-with-all-policy-coeffs");
      cpSync(packed("w4a8"), otherPolicy, { recursive: true });
      const coeffs = JSON.parse(readFileSync(join(otherPolicy, "qsched.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(otherPolicy, "qsched.json"), JSON.stringify({ ...coeffs, policy: "all" }));
      const policyMismatch = await QSchedPipeline.fromPretrained(otherPolicy, { qsched: "auto" });
      policyMismatch.dispose();
      expect(policyMismatch.qschedSource).toMatchObject({ kind: "fallback", reason: expect.stringMatching(/calibrated for W4A8 with policy all, but the pipeline loaded policy torchao/) });
    } finally {
      warn.mockRestore();
    }
  });
});

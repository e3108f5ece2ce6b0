import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../weights-tools/cli.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { startRangeServer, type RangeServer } from "./helpers/range-server.ts";

const CONFIGS = "/work/shared/configs";
const dir = mkdtempSync(join(tmpdir(), "wt-cli-"));
let server: RangeServer;

/** Runs the CLI capturing stdout and stderr lines. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(async () => {
  expect((await run(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo"), "--out", join(dir, "a"), "--tiny", "--seed", "7", "--quiet"])).code).toBe(0);
  server = await startRangeServer(dir);
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("weights-tools make-random", () => {
  it("writes the diffusers layout with every config file copied and tensors.json left out", () => {
    for (const f of ["model_index.json", "unet/config.json", "vae/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer_config.json"]) {
      expect(existsSync(join(dir, "a", f)), f).toBe(true);
    }
    expect(existsSync(join(dir, "a/unet/tensors.json"))).toBe(false);
    expect(readFileSync(join(dir, "a/unet/config.json"), "utf8")).toBe(readFileSync(join(CONFIGS, "stabilityai--sd-turbo/unet/config.json"), "utf8"));
    const unet = readSafetensorsFileSync(join(dir, "a/unet/diffusion_pytorch_model.safetensors"));
    const text = readSafetensorsFileSync(join(dir, "a/text_encoder/model.safetensors"));
    expect(unet.entries.size).toBe(686);
    expect(text.entries.size).toBe(372);
    expect(unet.metadata).toMatchObject({ format: "pt", qsched_random_seed: "7", qsched_tiny_max_dim: "8" });
  });

  it("fills biases with zeros, norm scales with ones and weights with N(0, 0.02²)", () => {
    const unet = readSafetensorsFileSync(join(dir, "a/unet/diffusion_pytorch_model.safetensors"));
    expect(Array.from(unet.f32("conv_in.bias")).every((x) => x === 0)).toBe(true);
    expect(Array.from(unet.f32("conv_norm_out.weight")).every((x) => x === 1)).toBe(true);
    const values: number[] = [];
    for (const name of unet.entries.keys()) if (name.endsWith(".weight") && unet.shape(name).length > 1) values.push(...unet.f32(name));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    // ~45k samples: the standard error of the std estimate is ~0.02/sqrt(2·45k) ≈ 7e-5, so 1e-3 is loose.
    expect(values.length).toBeGreaterThan(40_000);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(Math.abs(std - 0.02)).toBeLessThan(1e-3);
  });

  it("is deterministic for a seed and different for another seed", async () => {
    expect((await run(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo/vae"), "--out", join(dir, "b"), "--tiny", "--seed", "7", "--quiet"])).code).toBe(0);
    expect((await run(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo/vae/config.json"), "--out", join(dir, "c"), "--tiny", "--seed", "8", "--quiet"])).code).toBe(0);
    const a = readFileSync(join(dir, "a/vae/diffusion_pytorch_model.safetensors"));
    const b = readFileSync(join(dir, "b/diffusion_pytorch_model.safetensors"));
    const c = readFileSync(join(dir, "c/diffusion_pytorch_model.safetensors"));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it("writes transformers-named files for a CLIP root config, with I64 position_ids counting up", async () => {
    expect((await run(["make-random", "--config", join(CONFIGS, "openai--clip-vit-large-patch14"), "--out", join(dir, "clip"), "--tiny", "--quiet"])).code).toBe(0);
    const clip = readSafetensorsFileSync(join(dir, "clip/model.safetensors"));
    expect(Array.from(clip.typed("text_model.embeddings.position_ids") as BigInt64Array, Number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("exits 2 on usage errors and 1 on a folder without tensor indexes", async () => {
    expect((await run(["make-random", "--out", join(dir, "x")])).code).toBe(2);
    expect((await run(["make-random", "--config", CONFIGS, "--out", join(dir, "x"), "--dtype", "f8"])).code).toBe(2);
    expect((await run(["make-random", "--config", CONFIGS, "--out", join(dir, "x"), "--bogus"])).code).toBe(2);
    const r = await run(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo/scheduler"), "--out", join(dir, "x")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no tensors\.json/);
    expect((await run(["make-random", "--config", "/nonexistent", "--out", join(dir, "x")])).code).toBe(1);
  });
});

describe("weights-tools inspect", () => {
  it("summarizes each component of a folder: tensors, parameters, bytes, dtypes", async () => {
    const r = await run(["inspect", join(dir, "a"), "--summary"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^unet: 686 tensors, [\d,]+ parameters, .* F32 ×686\) in unet\/diffusion_pytorch_model\.safetensors$/m);
    expect(r.out).toMatch(/^vae: 248 tensors/m);
    expect(r.out).toMatch(/^text_encoder: 372 tensors/m);
  });

  it("lists tensors of a single file and reads the same headers over HTTP", async () => {
    const local = await run(["inspect", join(dir, "a/vae/diffusion_pytorch_model.safetensors"), "--json"]);
    const remote = await run(["inspect", `${server.url}a/vae/diffusion_pytorch_model.safetensors`, "--json"]);
    expect(local.code).toBe(0);
    expect(remote.code).toBe(0);
    const [l] = JSON.parse(local.out);
    const [u] = JSON.parse(remote.out);
    expect(u.list).toEqual(l.list);
    expect(l.tensors).toBe(248);
    const pipeline = await run(["inspect", `${server.url}a/`, "--summary"]);
    expect(pipeline.code).toBe(0);
    expect(pipeline.out).toMatch(/^unet: 686 tensors/m);
  });

  it("exits 1 with a message on a corrupt file and 2 on bad usage", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "bad.safetensors"), new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0, 1, 2]));
    const bad = await run(["inspect", join(dir, "bad.safetensors")]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.safetensors: header length \d+ (runs past|exceeds)/);
    expect((await run(["inspect"])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["--help"])).code).toBe(0);
  });
});

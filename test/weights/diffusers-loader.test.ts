import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../weights-tools/cli.ts";
import { fullGoldenDir } from "../helpers/golden.ts";
import { nodeFolderSource } from "../../src/weights/sources/node-folder-source.ts";
import { fileListSource } from "../../src/weights/sources/file-list-source.ts";
import { openPipeline } from "../../src/weights/diffusers/pipeline.ts";
import { loadComponent } from "../../src/weights/diffusers/component.ts";
import { checkTensorsAgainst, parseTensorIndex } from "../../src/weights/diffusers/check.ts";
import { WeightsLoadError } from "../../src/weights/errors.ts";
import { readSafetensorsFileSync } from "../../src/weights/safetensors/node-file.ts";
import { encodeSafetensors } from "../../src/weights/safetensors/writer.ts";
import { TINY_MAX_DIM } from "../../weights-tools/commands/make-random.ts";

const CONFIGS = "/work/shared/configs";
let dir: string;

async function quietMain(argv: string[]): Promise<number> {
  const log = console.log;
  console.log = () => {};
  try {
    return await main(argv);
  } finally {
    console.log = log;
  }
}

/** tensors.json shapes clamped the way --tiny clamps them. */
function tinyExpected(component: string): Record<string, number[]> {
  const { shapes } = parseTensorIndex(JSON.parse(readFileSync(join(CONFIGS, "stabilityai--sd-turbo", component, "tensors.json"), "utf8")), component);
  return Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, s.map((d) => Math.min(d, TINY_MAX_DIM))]));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wt-diffusers-"));
  expect(await quietMain(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo"), "--out", join(dir, "sd"), "--tiny", "--quiet"])).toBe(0);
  // Same pipeline, fp16 variant, UNet split into shards of at most 20 kB.
  expect(await quietMain(["make-random", "--config", join(CONFIGS, "stabilityai--sd-turbo"), "--out", join(dir, "sd16"), "--tiny", "--dtype", "f16", "--shard-bytes", "20000", "--quiet"])).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("diffusers layout loader on a make-random folder", () => {
  it("finds weight components from model_index.json and loads each with the tensors tensors.json lists", async () => {
    const pipe = await openPipeline(nodeFolderSource(join(dir, "sd")));
    expect(pipe.index.className).toBe("StableDiffusionPipeline");
    expect(pipe.weightComponents).toEqual(["text_encoder", "unet", "vae"]);
    for (const c of pipe.weightComponents) {
      const comp = await pipe.load(c, { expected: tinyExpected(c) });
      expect(comp.weights.kind).toBe("single");
      expect(comp.config._class_name ?? comp.config.architectures).toBeTruthy();
      await comp.close();
    }
  });

  it("reads sharded fp16 weights through the index, and the values match the single-file f32 copy after rounding", async () => {
    const sharded = await loadComponent(nodeFolderSource(join(dir, "sd16")), "unet", { variant: "fp16", expected: tinyExpected("unet") });
    const single = await loadComponent(nodeFolderSource(join(dir, "sd")), "unet");
    expect(sharded.weights.kind).toBe("sharded");
    if (sharded.weights.kind !== "sharded") return;
    expect(sharded.weights.indexFile).toBe("unet/diffusion_pytorch_model.safetensors.index.fp16.json");
    expect(sharded.weights.shards.length).toBeGreaterThan(2);
    expect(sharded.weights.shards[0]).toMatch(/^unet\/diffusion_pytorch_model\.fp16-00001-of-000\d\d\.safetensors$/);
    const name = "down_blocks.0.resnets.0.conv1.weight";
    const h = new Uint16Array((await sharded.tensors.get(name)!.read()).slice().buffer);
    const f = new Float32Array((await single.tensors.get(name)!.read()).slice().buffer);
    const { f32ToF16Bits } = await import("../../src/weights/safetensors/convert.ts");
    // Same seed and name give the same values; F16 is the f32 value rounded to nearest even.
    expect(Array.from(h)).toEqual(Array.from(f, (x) => f32ToF16Bits(x)));
    await sharded.close();
    await single.close();
  });

  it("a variant that does not exist is an error listing the file names it looked for", async () => {
    await expect(loadComponent(nodeFolderSource(join(dir, "sd")), "unet", { variant: "fp16" })).rejects.toThrow(
      /no weights for variant "fp16": looked for diffusion_pytorch_model\.fp16\.safetensors, model\.fp16\.safetensors/,
    );
  });

  it("missing, unexpected and misshapen tensors are listed by name", async () => {
    const expected = tinyExpected("vae");
    delete expected["decoder.conv_in.bias"]; // now an unexpected tensor in the file
    expected["decoder.extra.weight"] = [3]; // missing from the file
    expected["decoder.conv_in.weight"] = [1, 2, 3, 4]; // wrong shape
    const err = await loadComponent(nodeFolderSource(join(dir, "sd")), "vae", { expected }).catch((e) => e);
    expect(err).toBeInstanceOf(WeightsLoadError);
    expect(err.message).toContain("1 missing: decoder.extra.weight");
    expect(err.message).toContain("1 unexpected: decoder.conv_in.bias");
    expect(err.message).toMatch(/1 with the wrong shape: decoder\.conv_in\.weight expected \[1,2,3,4\] found \[8,4,3,3\]/);
  });

  it("checkTensorsAgainst reports each kind of difference", () => {
    const found = new Map([["a", { shape: [2, 3] }], ["b", { shape: [4] }], ["x", { shape: [1] }]]);
    const r = checkTensorsAgainst({ a: [2, 3], b: [5], c: [1] }, found);
    expect(r).toEqual({ missing: ["c"], unexpected: ["x"], mismatched: [{ name: "b", expected: [5], found: [4] }], ok: false });
    expect(checkTensorsAgainst({ a: [2, 3] }, { a: [2, 3] }).ok).toBe(true);
  });

  it("rejects a shard index that escapes the folder or disagrees with its shards", async () => {
    const bad = join(dir, "bad");
    const unet = join(bad, "unet");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(unet, { recursive: true });
    writeFileSync(join(unet, "config.json"), JSON.stringify({ _class_name: "UNet2DConditionModel", _diffusers_version: "0.30.3" }));
    const shard = encodeSafetensors({ a: { dtype: "F32", shape: [1], data: new Float32Array([1]) }, b: { dtype: "F32", shape: [1], data: new Float32Array([2]) } });
    writeFileSync(join(unet, "s1.safetensors"), shard);
    const index = join(unet, "diffusion_pytorch_model.safetensors.index.json");
    writeFileSync(index, JSON.stringify({ weight_map: { a: "../../etc/passwd.safetensors" } }));
    await expect(loadComponent(nodeFolderSource(bad), "unet")).rejects.toThrow(/not a relative path inside the checkpoint/);
    writeFileSync(index, JSON.stringify({ weight_map: { a: "s1.safetensors" } }));
    await expect(loadComponent(nodeFolderSource(bad), "unet")).rejects.toThrow(/1 shard tensor\(s\) missing from weight_map: b/);
    writeFileSync(index, JSON.stringify({ weight_map: { a: "s1.safetensors", b: "s1.safetensors", c: "s1.safetensors" } }));
    await expect(loadComponent(nodeFolderSource(bad), "unet")).rejects.toThrow(/1 tensor\(s\) in weight_map are in no shard: c/);
    writeFileSync(index, JSON.stringify({ weight_map: { a: "s1.safetensors", b: "s1.safetensors" } }));
    const ok = await loadComponent(nodeFolderSource(bad), "unet");
    expect(new Float32Array((await ok.tensors.get("b")!.read()).slice().buffer)[0]).toBe(2);
    await ok.close();
  });

  it("loads from browser File objects found by webkitRelativePath (the picked folder name is dropped)", async () => {
    const root = join(dir, "sd");
    const rels: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
        else rels.push(`${rel}${e.name}`);
      }
    };
    walk(root, "");
    const files = rels.map((r) => {
      const f = new File([readFileSync(join(root, r))], r.split("/").at(-1)!);
      Object.defineProperty(f, "webkitRelativePath", { value: `my-sd-turbo/${r}` });
      return f;
    });
    const pipe = await openPipeline(fileListSource(files, "my-sd-turbo"));
    expect(pipe.weightComponents).toEqual(["text_encoder", "unet", "vae"]);
    const fromFiles = await pipe.load("vae");
    const fromDisk = readSafetensorsFileSync(join(root, "vae/diffusion_pytorch_model.safetensors"));
    for (const [name, t] of fromFiles.tensors) expect(Buffer.from(await t.read()).equals(Buffer.from(fromDisk.bytes(name))), name).toBe(true);
    // Posted to a worker, a File keeps its name only: the relative paths travel beside the files.
    const bare = files.map((f) => new File([f], f.name));
    // Without paths, the components' config.json files cannot be told apart: refused, not the last one taken.
    const byName = fileListSource(bare, "posted");
    await expect(byName.readText("unet/config.json")).rejects.toThrow(/no file "unet\/config.json"/);
    await expect(byName.readText("config.json")).rejects.toThrow(/several selected files are "config.json": pick the model's folder/);
    // The folder above the model picked: the message names the folder to pick.
    const above = fileListSource(bare, "models", rels.map((r) => `models/my-sd-turbo/${r}`));
    await expect(above.readText("model_index.json")).rejects.toThrow(/no file "model_index.json" among the \d+ selected; it is at "my-sd-turbo\/model_index.json": pick the folder "my-sd-turbo" itself/);
    const posted = await openPipeline(fileListSource(bare, "posted", rels.map((r) => `my-sd-turbo/${r}`)));
    expect(posted.weightComponents).toEqual(["text_encoder", "unet", "vae"]);
    expect(() => fileListSource(bare, "posted", rels.slice(1))).toThrow(new RegExp(`${rels.length - 1} paths for ${rels.length} files`));
  });
});

describe("diffusers layout loader on the reference pipelines", () => {
  const full = fullGoldenDir();
  const folders = full
    ? [join(full, "tiny-sd-turbo"), join(full, "tiny-sdxl-turbo"), join(full, "tiny-lcm-sd15"), join(full, "../toy-shapes/pipeline")].filter((d) => existsSync(join(d, "model_index.json")))
    : [];
  console.log(`[weights] reference pipelines: ${folders.length ? folders.join(", ") : "NOT available (no full oracle)"}`);

  it("loads every weight component of each and its tensors agree with the whole-file reader", async () => {
    let checked = 0;
    for (const folder of folders) {
      const pipe = await openPipeline(nodeFolderSource(folder));
      expect(pipe.weightComponents.length, folder).toBeGreaterThanOrEqual(3);
      for (const c of pipe.weightComponents) {
        const comp = await pipe.load(c);
        const file = comp.weights.kind === "single" ? comp.weights.file : comp.weights.shards[0]!;
        const whole = readSafetensorsFileSync(join(folder, file));
        expect([...comp.tensors.keys()].sort()).toEqual([...whole.entries.keys()].sort());
        for (const [name, t] of comp.tensors) {
          expect(t.shape).toEqual(whole.shape(name));
          expect(Buffer.from(await t.read()).equals(Buffer.from(whole.bytes(name)))).toBe(true);
        }
        await comp.close();
        checked++;
      }
    }
    // With the oracle present: 3 tiny pipelines (3-4 weight components each) + toy-shapes (3).
    if (full) expect(checked).toBeGreaterThanOrEqual(12);
    else expect(folders).toEqual([]);
  });

  it("the tiny-sd-turbo UNet has the SD-Turbo tensor names (shapes are tiny)", async () => {
    if (!full) return expect(full).toBeNull();
    const unet = await loadComponent(nodeFolderSource(join(full, "tiny-sd-turbo")), "unet");
    const { shapes } = parseTensorIndex(JSON.parse(readFileSync(join(CONFIGS, "stabilityai--sd-turbo/unet/tensors.json"), "utf8")), "sd-turbo unet");
    const r = checkTensorsAgainst(shapes, unet.tensors);
    // The tiny UNet has fewer blocks than SD-Turbo: every tiny name must exist in the real index.
    expect(r.unexpected).toEqual([]);
    expect(unet.tensors.size).toBeGreaterThan(100);
    await unet.close();
  });
});

describe("a component without safetensors weights", () => {
  it("names what is there instead: fp16 weights (use the variant) or a PyTorch pickle (not read)", async () => {
    const { findWeightFiles } = await import("../../src/weights/diffusers/weight-files.ts");
    const d = mkdtempSync(join(tmpdir(), "qsched-noweights-"));
    try {
      mkdirSync(join(d, "unet"));
      writeFileSync(join(d, "unet/diffusion_pytorch_model.bin"), "x");
      mkdirSync(join(d, "vae"));
      writeFileSync(join(d, "vae/diffusion_pytorch_model.fp16.safetensors"), "x");
      await expect(findWeightFiles(nodeFolderSource(d), "unet")).rejects.toThrow(/there is diffusion_pytorch_model\.bin, a PyTorch pickle, which is not read/);
      await expect(findWeightFiles(nodeFolderSource(d), "vae")).rejects.toThrow(/there are fp16 weights: pass variant "fp16"/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/**
 * The CLIP scorer quantized like any other checkpoint, on the toy's clip-scorer (text tower borrowed from the
 * toy pipeline): quantized-at-load embeds stay within measured bounds of the float scorer's; a packed scorer
 * (`weights-tools pack-pipeline <clip-folder>`) loads with its own scheme and embeds bit for bit like quantizing
 * at load; wrong requests fail naming what was expected; `qsched-gpu calibrate --scorer-quant` reaches the loader
 * and the journal key.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadClipScorer, type ClipScorer } from "../../src/calibration/clip-scorer.ts";
import { JaqEvaluator } from "../../src/calibration/image-scorer.ts";
import { main as calibrateMain, parseCalibrateArgs } from "../../src/cli/calibrate.ts";
import { streamedBytes } from "../../src/pipeline/component-tensors.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";
import { readPack } from "../../src/quant/pack.ts";
import { main as weightsTools } from "../../weights-tools/cli.ts";
import { REPO_ROOT } from "../helpers/golden.ts";
import { testGpu } from "../helpers/gpu.ts";
import { discTestImage } from "../helpers/images.ts";
import { bowl, fakeGenerator, fakeScorer } from "./fakes.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const SCORER = join(TOY, "clip-scorer");
const dir = mkdtempSync(join(tmpdir(), "qsched-scorer-quant-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Worst cosine between quantized and float embeds over the texts and images below, and |ΔJAQ|. Measured on the toy
 * (lavapipe): W8A8 min cos 0.99996 text / 0.99993 image, |ΔJAQ| 0.027; W4A8 0.9973 / 0.9951, |ΔJAQ| 0.017 (on 8
 * generated toy images with 8 calibration prompts: W8A8 0.99996 / 0.99989, |ΔJAQ| 0.007; W4A8 0.9970 / 0.9943,
 * |ΔJAQ| 0.07). Cosine bounds keep ~10× the measured 1 − cos (int8 per-token activations with per-channel int8
 * weights cost ~1e-4, int4 weights in groups of 32 ~5e-3). JAQ moves more than the cosines suggest because CLIP-IQA
 * is a softmax over cosines × 100; its bounds keep ~3× the larger measured change of each scheme.
 */
const BOUNDS: Record<"w8a8" | "w4a8", { cos: number; jaq: number }> = {
  w8a8: { cos: 0.999, jaq: 0.08 },
  w4a8: { cos: 0.95, jaq: 0.25 },
};

const texts = ["a large yellow circle on a black background", "two red squares", "a blue triangle", "Good photo.", "Bad photo."];

const images = [discTestImage(0), discTestImage(1), discTestImage(2)];

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < a.length; i++) [d, x, y] = [d + a[i]! * b[i]!, x + a[i]! ** 2, y + b[i]! ** 2];
  return d / Math.sqrt(x * y);
};

async function embedAll(s: ClipScorer) {
  return { t: await s.embedTexts(texts), i: await s.embedImages(images), jaq: (await new JaqEvaluator(s, texts.slice(0, 3)).score(images)).jaq };
}

/** Packs the toy scorer folder with `scheme` (the CLI, as a user would); returns the packed folder. */
async function packScorer(scheme: string, from = SCORER): Promise<string> {
  const out = join(dir, `scorer-${scheme}`);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    expect(await weightsTools(["pack-pipeline", from, "--scheme", scheme, "--out", out, "--quiet", "--force"])).toBe(0);
  } finally {
    log.mockRestore();
  }
  return out;
}

describe("quantized CLIP scorer", () => {
  it("W8A8 / W4A8 at load: every linear of both towers quantized, embeds and JAQ within the measured bounds of float", async () => {
    const gpu = await testGpu();
    const progress: string[] = [];
    const float = await loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, onProgress: (p) => progress.push(p.component) });
    // Both folders were read (scorer, then the borrowed text tower), and reported to the end.
    expect([...new Set(progress)]).toEqual(["clip-scorer", "text_encoder"]);
    try {
      const f = await embedAll(float);
      expect(float.quant).toBe("none");
      // W8A8 with f16 weights and activations too (lavapipe has shader-f16; measured 0.99996 / 0.99990).
      const cases = [["w8a8", "f32"], ["w4a8", "f32"], ...(gpu.ctx.caps.f16 ? [["w8a8", "f16"] as const] : [])] as const;
      for (const [quant, dtype] of cases) {
        // Streaming: the CPU holds one tensor at a time, the largest being the 49408×64 F32 token embedding.
        streamedBytes.resetPeak();
        const q = await loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, quant, dtype });
        expect(streamedBytes.peak).toBeLessThanOrEqual(49408 * 64 * 4);
        try {
          const e = await embedAll(q);
          const textCos = Math.min(...e.t.map((v, i) => cosine(v, f.t[i]!)));
          const imageCos = Math.min(...e.i.map((v, i) => cosine(v, f.i[i]!)));
          const dJaq = Math.abs(e.jaq - f.jaq);
          console.log(`[scorer ${quant} ${dtype}] min cos text ${textCos.toFixed(6)} image ${imageCos.toFixed(6)}, JAQ ${e.jaq.toFixed(4)} vs ${f.jaq.toFixed(4)}, weights ${q.weightBytes} vs ${float.weightBytes} B`);
          expect(q.quant).toBe(quant);
          expect(q.pack).toBeNull();
          expect(textCos).toBeGreaterThanOrEqual(BOUNDS[quant].cos);
          expect(imageCos).toBeGreaterThanOrEqual(BOUNDS[quant].cos);
          expect(dJaq).toBeLessThanOrEqual(BOUNDS[quant].jaq);
          // Really quantized (not float under another name): the embeds move, and the weights shrink.
          expect(textCos).toBeLessThan(1 - 1e-7);
          expect(imageCos).toBeLessThan(1 - 1e-7);
          expect(q.weightBytes).toBeLessThan(float.weightBytes);
        } finally {
          q.dispose();
        }
      }
    } finally {
      float.dispose();
    }
  }, 600_000);

  it("weights-tools pack-pipeline packs a CLIPModel folder; the packed scorer takes the pack's scheme and embeds bit for bit like quantizing at load", async () => {
    const gpu = await testGpu();
    for (const [scheme, scaleStorage] of [["w4a8", "f32"], ["w8a8", "f16"]] as const) {
      const packed = await packScorer(scheme);
      expect(readdirSync(packed).sort()).toEqual(["config.json", "model.qpack.safetensors", "preprocessor_config.json"]);
      const info = readPack(join(packed, "model.qpack.safetensors")).info;
      expect(info).toMatchObject({ scheme: scheme.toUpperCase(), policy: "torchao", component: "clip-scorer", componentConfig: JSON.parse(readFileSync(join(SCORER, "config.json"), "utf8")) });
      // 3 vision layers × (q, k, v, out_proj, fc1, fc2) + visual_projection + text_projection.
      expect(Object.keys(info.layout)).toHaveLength(20);
      const fromPack = await loadClipScorer(gpu, packed, { textTowerFolder: TOY, scaleStorage });
      const atLoad = await loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, quant: scheme, scaleStorage });
      try {
        expect(fromPack.quant).toBe(scheme);
        expect(fromPack.pack?.location).toContain("model.qpack.safetensors");
        expect(fromPack.weightBytes).toBe(atLoad.weightBytes);
        const [a, b] = [await embedAll(fromPack), await embedAll(atLoad)];
        for (const [i, v] of a.t.entries()) expect([...v], `${scheme} text ${i}`).toEqual([...b.t[i]!]);
        for (const [i, v] of a.i.entries()) expect([...v], `${scheme} image ${i}`).toEqual([...b.i[i]!]);
      } finally {
        fromPack.dispose();
        atLoad.dispose();
      }
    }
  }, 600_000);

  it("bad requests fail naming what was expected: unknown scheme or policy, an aborted load, another scheme than the pack's, a pack for another model, --qsched on a scorer", async () => {
    const gpu = await testGpu();
    await expect(loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, quant: "w3a8" as QuantScheme })).rejects.toThrow(/quant must be one of none\|w8a8\|w4a8\|w8a16\|w4a16, got "w3a8"/);
    await expect(loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, policy: "some" as "all" })).rejects.toThrow(/policy must be one of torchao\|all/);
    // Aborted: nothing loads, and no tensor bytes stay held on the CPU.
    const held = streamedBytes.held;
    const ac = new AbortController();
    ac.abort();
    await expect(loadClipScorer(gpu, SCORER, { textTowerFolder: TOY, quant: "w8a8", signal: ac.signal })).rejects.toThrow(/abort/i);
    expect(streamedBytes.held).toBe(held);
    const packed = await packScorer("w4a8");
    await expect(loadClipScorer(gpu, packed, { textTowerFolder: TOY, quant: "w8a8" })).rejects.toThrow(/this pack is W4A8; quant: w8a8 was requested/);
    await expect(loadClipScorer(gpu, packed, { textTowerFolder: TOY, quant: "none" })).rejects.toThrow(/this pack is W4A8; quant: none was requested/);
    await expect(loadClipScorer(gpu, packed, { textTowerFolder: TOY, policy: "all" })).rejects.toThrow(/quantized with policy torchao; policy: all was requested/);
    // The pack beside another model's config.json: refused, naming the differing fields.
    const other = join(dir, "other-model");
    cpSync(packed, other, { recursive: true, force: true });
    const config = JSON.parse(readFileSync(join(packed, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(other, "config.json"), JSON.stringify({ ...config, projection_dim: 32 }));
    await expect(loadClipScorer(gpu, other, { textTowerFolder: TOY })).rejects.toThrow(/a quantized pack for another model .*projection_dim is 32 in config\.json but 64 in the pack's/);
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const coeffs = join(dir, "coeffs.json");
      writeFileSync(coeffs, JSON.stringify({ model: "toy", steps: 4, qsched: { scheme: "linear", m: 1, s: 1 } }));
      expect(await weightsTools(["pack-pipeline", SCORER, "--scheme", "w8a8", "--qsched", coeffs, "--out", join(dir, "with-qsched"), "--quiet"])).toBe(1);
      expect(err.mock.calls.flat().join("\n")).toMatch(/is a CLIP model, not a pipeline/);
      expect(await weightsTools(["pack-pipeline", join(TOY, "scheduler"), "--scheme", "w8a8", "--out", join(dir, "nothing"), "--quiet"])).toBe(1);
      expect(err.mock.calls.flat().join("\n")).toMatch(/neither a diffusers pipeline folder \(model_index\.json\) nor a CLIPModel folder/);
    } finally {
      err.mockRestore();
    }
  }, 300_000);
});

describe("qsched-gpu calibrate --scorer-quant", () => {
  let errText = "";
  const stderr = { write: (s: string) => void (errText += s) };
  beforeEach(() => void (errText = ""));
  afterEach(() => vi.restoreAllMocks());

  it("parses the scheme, refuses others, and passes it to the scorer loader and into the journal key", async () => {
    expect(parseCalibrateArgs(["--model", "toy", "--scorer-quant", "w8a8"]).scorerQuant).toBe("w8a8");
    expect(parseCalibrateArgs(["--model", "toy"]).scorerQuant).toBeUndefined();
    expect(() => parseCalibrateArgs(["--model", "toy", "--scorer-quant", "int8"])).toThrow(/--scorer-quant expects one of none\|w8a8\|w4a8\|w8a16\|w4a16, found "int8"/);
    const asked: unknown[] = [];
    const journal = join(dir, "journal.jsonl");
    const deps = (quant: QuantScheme) => ({
      stderr,
      stdout: { write: () => true },
      loadScorer: async (_clip: string | undefined, _model: string, req?: { quant?: QuantScheme }) => (asked.push(req), Object.assign(fakeScorer(bowl), { quant })),
      loadGenerator: async () => ({ generate: fakeGenerator() }),
    });
    expect(await calibrateMain(["--model", "toy", "--scorer-quant", "w8a8", "--journal", journal], deps("w8a8")), errText).toBe(0);
    expect(asked).toEqual([{ quant: "w8a8" }]);
    expect(JSON.parse(readFileSync(journal, "utf8").split("\n")[0]!).key.search).toMatchObject({ scorerQuant: "w8a8" });
    // The same journal with a float scorer is another run: refused, naming the field.
    expect(await calibrateMain(["--model", "toy", "--journal", journal], deps("none"))).toBe(1);
    expect(errText).toMatch(/scorerQuant/);
  });
});

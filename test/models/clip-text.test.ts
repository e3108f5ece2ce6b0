/**
 * CLIP text encoders vs the pipeline fixtures' activations (shipped subsets always, the full oracle when
 * present), the causal attention they need vs a float64 reference, discriminating variants, bad input.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attention } from "../../src/ops/attention.ts";
import { ClipTextModel } from "../../src/models/clip-text/clip-text.ts";
import { tokenizePrompts } from "../../src/models/clip-text/prompt.ts";
import { pooledIndex } from "../../src/models/clip-text/ids.ts";
import { CLIPTokenizer } from "../../src/tokenizer/clip-tokenizer.ts";
import { componentSource, readJson } from "../../src/verify/pipeline/component-source.ts";
import { runTextEncoderActivations, TEXT_ENCODER_TOL } from "../../src/verify/pipeline/text-encoder-activations.ts";
import { FIXTURE_GOLDEN, fullGoldenDir } from "../helpers/golden.ts";
import { seededFloats, testGpu } from "../helpers/gpu.ts";

/** Pipeline folders to run: the shipped subset, and the full oracle's three pipelines when present. */
function pipelineFolders(): { label: string; dir: string }[] {
  const out = ["tiny-sd-turbo", "tiny-sdxl-turbo"].map((p) => ({ label: `fixtures ${p}`, dir: join(FIXTURE_GOLDEN, p) }));
  const full = fullGoldenDir();
  if (full) for (const p of ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"]) out.push({ label: `full-oracle ${p}`, dir: join(full, p) });
  console.log(`[golden] text encoders: full oracle ${full ? "RUNS" : "NOT available (set QSCHED_GOLDEN)"}`);
  return out;
}

const worst = (r: { error?: number }[]) => Math.max(...r.map((x) => x.error ?? Infinity));

describe("CLIP text encoder activations (README bound 1e-5 relative)", () => {
  for (const { label, dir } of pipelineFolders()) {
    it(label, async () => {
      const gpu = await testGpu();
      const results = await runTextEncoderActivations(gpu, dir);
      console.log(`${label}: worst ${worst(results).toExponential(2)} over ${results.length} tensors`);
      for (const r of results) expect(r.ok, `${r.name}: ${r.detail}`).toBe(true);
      expect(results.length).toBeGreaterThanOrEqual(6);
    });
  }
});

describe("discriminating variants FAIL", () => {
  const sdTurbo = join(fullGoldenDir() ?? FIXTURE_GOLDEN, "tiny-sd-turbo");
  const sdxl = join(fullGoldenDir() ?? FIXTURE_GOLDEN, "tiny-sdxl-turbo");

  it("tanh GELU where SD-Turbo's config says gelu (erf) fails the layer outputs", async () => {
    const gpu = await testGpu();
    const results = await runTextEncoderActivations(gpu, sdTurbo, TEXT_ENCODER_TOL, { testVariants: { activation: "gelu_tanh" } });
    const layer0 = results.find((r) => r.name === "text_encoder layers.0")!;
    console.log(`tanh GELU: layers.0 error ${layer0.error?.toExponential(2)}`);
    expect(layer0.ok).toBe(false);
    expect(results.find((r) => r.name === "text_encoder embeddings")!.ok).toBe(true);
  });

  it("SDXL text_encoder_2 pooled without the final LayerNorm fails text_embeds", async () => {
    const gpu = await testGpu();
    const results = await runTextEncoderActivations(gpu, sdxl, TEXT_ENCODER_TOL, { components: ["text_encoder_2"], testVariants: { pooledWithoutFinalNorm: true } });
    const embeds = results.find((r) => r.name === "text_encoder_2 text_embeds")!;
    console.log(`pooled without final LN: text_embeds error ${embeds.error?.toExponential(2)}`);
    expect(embeds.ok).toBe(false);
    expect(results.find((r) => r.name === "text_encoder_2 final_layer_norm")!.ok).toBe(true);
  });
});

describe("SDXL use: hidden_states[-2] (penultimate, no final LN) and a batch of two rows", () => {
  it("text_encoder_2: each row of a [2, 77] batch gives the stored penultimate layer and text_embeds", async () => {
    const gpu = await testGpu();
    const dir = join(fullGoldenDir() ?? FIXTURE_GOLDEN, "tiny-sdxl-turbo");
    const acts = (await import("../../src/weights/safetensors/node-file.ts")).readSafetensorsFileSync(join(dir, "activations", "text_encoder_2.safetensors"));
    const model = ClipTextModel.load(gpu, componentSource(join(dir, "text_encoder_2"), 49408), readJson(join(dir, "text_encoder_2", "config.json")));
    const ids = [...(acts.typed("in.input_ids") as Int32Array)];
    const out = await model.forward([ids, ids], { hiddenStates: [-2] });
    const n = model.config.numLayers;
    const penultimate = await gpu.read(out.hiddenStates.get(n - 1)!);
    const embeds = await gpu.read(out.textEmbeds!);
    expect(out.hiddenStates.get(n - 1)!.shape).toEqual([2, 77, 32]);
    const { relativeMaxError } = await import("../../src/verify/compare.ts");
    const half = penultimate.length / 2;
    for (const row of [0, 1]) {
      expect(relativeMaxError(penultimate.subarray(row * half, (row + 1) * half), acts.f32(`act.layers.${n - 2}`))).toBeLessThan(TEXT_ENCODER_TOL);
      expect(relativeMaxError(embeds.subarray(row * 32, (row + 1) * 32), acts.f32("out.text_embeds"))).toBeLessThan(TEXT_ENCODER_TOL);
    }
    out.dispose();
    model.dispose();
  });
});

describe("causal attention (the mask CLIP text needs)", () => {
  function reference(q: Float32Array, k: Float32Array, v: Float32Array, b: number, l: number, heads: number, d: number, causal: boolean): Float64Array {
    const w = heads * d;
    const out = new Float64Array(b * l * w);
    for (let bi = 0; bi < b; bi++) for (let h = 0; h < heads; h++) for (let i = 0; i < l; i++) {
      const last = causal ? i : l - 1;
      const s: number[] = [];
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[(bi * l + i) * w + h * d + c]! * k[(bi * l + j) * w + h * d + c]!;
        s.push(dot / Math.sqrt(d));
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, x) => a + x, 0);
      for (let c = 0; c < d; c++) out[(bi * l + i) * w + h * d + c] = e.reduce((a, p, j) => a + p * v[(bi * l + j) * w + h * d + c]!, 0) / z;
    }
    return out;
  }

  // 77 tokens span two 64-row query tiles and three 32-key tiles; the error bound is f32 accumulation (~1e-6).
  for (const [b, l, heads, d] of [[2, 77, 4, 8], [1, 5, 1, 40]] as const) {
    it(`B${b} L${l} H${heads} d${d}: matches the masked float64 reference, and differs from the unmasked`, async () => {
      const gpu = await testGpu();
      const n = b * l * heads * d;
      const [q, k, v] = [1, 2, 3].map((s) => seededFloats(n, 100 + s, -2, 2));
      const [tq, tk, tv] = [q, k, v].map((x) => gpu.upload(x!, [b, l, heads * d]));
      const y = await attention(gpu, tq!, tk!, tv!, heads, { causal: true });
      const got = await gpu.read(y);
      const want = reference(q!, k!, v!, b, l, heads, d, true);
      const err = Math.max(...got.map((x, i) => Math.abs(x - want[i]!)));
      const unmasked = reference(q!, k!, v!, b, l, heads, d, false);
      const gap = Math.max(...got.map((x, i) => Math.abs(x - unmasked[i]!)));
      expect(err).toBeLessThan(2e-6);
      expect(gap).toBeGreaterThan(1e-2);
      for (const t of [tq, tk, tv, y]) t!.dispose();
    });
  }

  it("rejects a causal mask for cross-attention (Lq ≠ Lk)", async () => {
    const gpu = await testGpu();
    const q = gpu.upload(new Float32Array(3 * 8), [1, 3, 8]);
    const k = gpu.upload(new Float32Array(5 * 8), [1, 5, 8]);
    await expect(attention(gpu, q, k, k, 1, { causal: true })).rejects.toThrow("a causal mask needs self-attention (Lq = Lk), got Lq 3, Lk 5");
  });
});

describe("bad input", () => {
  const dir = join(FIXTURE_GOLDEN, "tiny-sd-turbo", "text_encoder");
  const tokDir = join(FIXTURE_GOLDEN, "tokenizer");

  it("a prompt over 77 tokens is truncated as diffusers does, with a warning naming the dropped text", () => {
    const tok = CLIPTokenizer.fromFiles(readFileSync(join(tokDir, "vocab.json"), "utf8"), readFileSync(join(tokDir, "merges.txt"), "utf8"), { padToken: "!" });
    const warnings: string[] = [];
    const long = Array.from({ length: 90 }, (_, i) => `cat${i % 3 === 0 ? "" : " dog"}`).join(" ") + " tailword";
    const [ids] = tokenizePrompts(tok, [long], { warn: (m) => warnings.push(m) });
    expect(ids).toHaveLength(77);
    expect(ids![0]).toBe(tok.bosId);
    expect(ids![76]).toBe(tok.eosId);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/truncated because CLIP can only handle sequences up to 77 tokens/);
    expect(warnings[0]).toMatch(/tailword$/);
    const short = tokenizePrompts(tok, ["a cat"], { warn: (m) => warnings.push(m) });
    expect(short[0]).toHaveLength(77);
    expect(warnings).toHaveLength(1);
  });

  it("ids longer than max_position_embeddings, out-of-vocabulary ids and ragged rows are rejected by name", async () => {
    const gpu = await testGpu();
    const raw = readJson(join(dir, "config.json"));
    const model = ClipTextModel.load(gpu, componentSource(dir, 49408), raw);
    await expect(model.forward([Array(78).fill(1)])).rejects.toThrow("CLIP text: sequences must have 1..77 tokens (max_position_embeddings), found 78");
    await expect(model.forward([[49406, 49408, 49407]])).rejects.toThrow("token id 49408 (row 0, position 1) is outside the vocabulary [0, 49408)");
    await expect(model.forward([[49406, 49407], [49406]])).rejects.toThrow("row 0 has 2, row 1 has 1");
    const f = gpu.upload(new Float32Array(4), [1, 4]);
    await expect(model.forward(f)).rejects.toThrow("CLIP text: an ids tensor must be i32 [B, L], got Tensor[1×4] f32");
    // An i32 ids tensor gives the same outputs as the host ids.
    const ids = [49406, 320, 1125, 49407, 0, 0];
    const fromHost = await model.forward([ids]);
    const fromGpu = await model.forward(gpu.upload(Int32Array.from(ids), [1, 6], "i32"));
    expect([...(await gpu.read(fromGpu.pooled))]).toEqual([...(await gpu.read(fromHost.pooled))]);
    model.dispose();
  });

  it("a config that disagrees with the checkpoint fails at load, naming both", async () => {
    const gpu = await testGpu();
    const raw = readJson(join(dir, "config.json"));
    expect(() => ClipTextModel.load(gpu, componentSource(dir, 49408), { ...raw, num_hidden_layers: 4 })).toThrow(/has 3 encoder layers, the config says num_hidden_layers 4/);
    expect(() => ClipTextModel.load(gpu, componentSource(dir, 49408), { ...raw, hidden_size: 64, num_attention_heads: 4 })).toThrow(/is \[49408, 32\], the config expects \[vocab_size 49408, hidden_size 64\]/);
    expect(() => ClipTextModel.load(gpu, componentSource(dir, 49408), { ...raw, hidden_act: "relu" })).toThrow(/hidden_act "relu" is not supported/);
  });

  it("pooling rule: argmax for legacy eos_token_id 2, first eos otherwise", () => {
    expect(pooledIndex([49406, 320, 49407, 0, 0], 2)).toBe(2);
    expect(pooledIndex([49406, 320, 49407, 49407], 2)).toBe(2);
    expect(pooledIndex([49406, 320, 7, 49407], 7)).toBe(2);
    expect(existsSync(dir)).toBe(true);
  });
});

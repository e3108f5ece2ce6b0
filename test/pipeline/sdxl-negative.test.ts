/**
 * SDXL under CFG with no negative prompt: diffusers' StableDiffusionXLPipeline (force_zeros_for_empty_prompt, true
 * unless model_index.json says false) uses all-zero negative context and pooled embeddings instead of encoding "".
 * An explicit "" is encoded, and SD pipelines always encode "". The golden SDXL traces run without CFG, so this is
 * checked on the tiny SDXL-Turbo pipeline of the full oracle (registered only where it exists, as elsewhere).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { negativeConditioning } from "../../src/pipeline/conditioning.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { GenerateOptions } from "../../src/pipeline/types.ts";
import { fullGoldenDir } from "../helpers/golden.ts";

const full = fullGoldenDir();

/** The negative (first) half of each traced conditioning tensor, and its largest magnitude. */
async function negativeHalves(pipe: QSchedPipeline, extra: Partial<GenerateOptions>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await pipe.generate({
    prompt: "a red circle",
    seed: 1,
    steps: 1,
    guidanceScale: 5,
    ...extra,
    trace: async (name, v) => {
      if (name !== "encoder_hidden_states" && name !== "add_text_embeds") return;
      const values = v instanceof Float32Array || v instanceof Int32Array ? Float32Array.from(v) : await pipe.gpu.read(v);
      out[name] = values.subarray(0, values.length / 2).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    },
  });
  return out;
}

describe("SDXL negative conditioning under CFG", () => {
  it("the rule: zeros for SDXL without a negative prompt unless the flag is false; SD and LCM encode \"\"", () => {
    expect(negativeConditioning("sdxl", null, 2, true)).toBe("zeros");
    expect(negativeConditioning("sdxl", null, 2, undefined)).toBe("zeros"); // diffusers' default is true
    expect(negativeConditioning("sdxl", null, 2, false)).toEqual(["", ""]);
    expect(negativeConditioning("sdxl", ["", "blurry"], 2, true)).toEqual(["", "blurry"]);
    expect(negativeConditioning("sd", null, 1, true)).toEqual([""]);
    expect(negativeConditioning("lcm", null, 1, undefined)).toEqual([""]);
  });

  for (const model of full ? ["tiny-sdxl-turbo"] : []) {
    it(`zeros without a negative prompt, encoded "" when given or when model_index.json turns it off (${model})`, async () => {
      const pipe = await QSchedPipeline.fromPretrained(join(full!, model));
      try {
        expect(await negativeHalves(pipe, {})).toEqual({ encoder_hidden_states: 0, add_text_embeds: 0 });
        const given = await negativeHalves(pipe, { negativePrompt: "" });
        expect(given.encoder_hidden_states).toBeGreaterThan(0.1);
        expect(given.add_text_embeds).toBeGreaterThan(0.1);
      } finally {
        pipe.dispose();
      }
      const dir = mkdtempSync(join(tmpdir(), "sdxl-no-zeros-"));
      try {
        cpSync(join(full!, model), dir, { recursive: true, filter: (p) => !/\/(traces|activations)/.test(p.slice(join(full!, model).length)) });
        const index = JSON.parse(readFileSync(join(dir, "model_index.json"), "utf8")) as Record<string, unknown>;
        writeFileSync(join(dir, "model_index.json"), JSON.stringify({ ...index, force_zeros_for_empty_prompt: false }));
        const off = await QSchedPipeline.fromPretrained(dir);
        try {
          expect((await negativeHalves(off, {})).encoder_hidden_states).toBeGreaterThan(0.1);
        } finally {
          off.dispose();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/**
 * Records a full JAQ landscape with our own pipeline and GPU CLIP scorer (not a test): the paper's 9×9 grid
 * over (m, s) ∈ [0.8, 1.2]² on the embedded toy model, one image per calibration prompt (seed 100 + i, the
 * calibrate CLI's rule), keeping every image's CLIPScore pair value and CLIP-IQA so search strategies can
 * also be judged per generation. Output: the model card's landscape layout (jaq / clip_score / clip_iqa as
 * [i_m][j_s]) plus `per_image`.
 *
 * Run: npx vite-node bench/calibration/record-landscape.ts -- --quant w4a8 [--policy torchao|all]
 *      [--steps 4] [--guidance 2] [--prompts file] --out bench/calibration/landscapes/<name>.json
 * Held-out tables go to landscapes/ (never used to choose a constant); tables for tuning go to landscapes-tuning/
 * and must use other prompts (see landscapes-tuning/README.md).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadClipScorer } from "../../src/calibration/clip-scorer.ts";
import { QUALITY_ANCHORS } from "../../src/calibration/image-scorer.ts";
import { scoreConfig } from "../../src/calibration/scores.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const TOY = join(HERE, "..", "..", "models", "toy-shapes");
const AXIS = [0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2];
const SEED_BASE = 100;

function args(argv: string[]) {
  const get = (flag: string, dflt?: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1]! : dflt;
  };
  const out = get("--out");
  if (!out) throw new Error("--out <file.json> is required");
  return {
    quant: (get("--quant", "w4a8") as QuantScheme),
    policy: (get("--policy", "torchao") as "torchao" | "all"),
    steps: Number(get("--steps", "4")),
    guidance: Number(get("--guidance", "2")),
    prompts: readFileSync(get("--prompts", join(HERE, "..", "qsched", "calibration-prompts.txt"))!, "utf8").split("\n").map((l) => l.trim()).filter(Boolean),
    out,
  };
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  const t0 = performance.now();
  const gpu = await Gpu.create();
  const pipe = await QSchedPipeline.fromPretrained(TOY, { gpu, quant: o.quant, policy: o.policy });
  const scorer = await loadClipScorer(gpu, join(TOY, "clip-scorer"), TOY);
  const texts = await scorer.embedTexts([...o.prompts, ...QUALITY_ANCHORS]);
  const [good, bad] = texts.slice(o.prompts.length) as [Float32Array, Float32Array];
  const grid = <T>(f: () => T) => AXIS.map(() => AXIS.map(f));
  const jaq = grid(() => 0);
  const clipScore = grid(() => 0);
  const clipIqa = grid(() => 0);
  const pair = grid((): number[] => []);
  const iqa = grid((): number[] => []);
  for (const [i, m] of AXIS.entries()) {
    for (const [j, s] of AXIS.entries()) {
      pipe.setQSched({ m, s });
      const images = [];
      for (const [p, prompt] of o.prompts.entries()) {
        images.push((await pipe.generate({ prompt, seed: SEED_BASE + p, steps: o.steps, guidanceScale: o.guidance })).images[0]!);
      }
      const sc = scoreConfig(await scorer.embedImages(images), texts.slice(0, o.prompts.length), good, bad);
      jaq[i]![j] = sc.jaq;
      clipScore[i]![j] = sc.clipScore;
      clipIqa[i]![j] = sc.meanClipIqa;
      pair[i]![j] = sc.pairScores;
      iqa[i]![j] = sc.clipIqa;
      const done = i * AXIS.length + j + 1;
      const el = (performance.now() - t0) / 1000;
      process.stderr.write(`${done}/81 (m ${m}, s ${s}) JAQ ${sc.jaq.toFixed(4)}  ${el.toFixed(0)} s, ETA ${((el / done) * (81 - done)).toFixed(0)} s\n`);
    }
  }
  let best = { m: 1, s: 1, jaq: -Infinity, clip_score: 0, clip_iqa: 0 };
  for (const [i, m] of AXIS.entries()) for (const [j, s] of AXIS.entries()) if (jaq[i]![j]! > best.jaq) best = { m, s, jaq: jaq[i]![j]!, clip_score: clipScore[i]![j]!, clip_iqa: clipIqa[i]![j]! };
  const record = {
    model: "toy-shapes (models/toy-shapes), recorded with qsched-gpu",
    scorer: "toy CLIP (models/toy-shapes/clip-scorer), GPU",
    adapter: gpu.ctx.describe(),
    quantization: `${o.quant} (policy ${o.policy})`,
    scheduler: "EulerDiscreteScheduler trailing + Q-Sched coefficients",
    steps: o.steps,
    guidance_scale: o.guidance,
    prompts: o.prompts,
    seeds: o.prompts.map((_, p) => SEED_BASE + p),
    seed_rule: "one generate() per prompt, seed 100 + prompt index (qsched-gpu calibrate's rule)",
    jaq_formula: "ln(CLIPScore) + 2 * mean(CLIP-IQA)",
    axes: { m: AXIS, s: AXIS },
    index_order: "[i_m][j_s]",
    jaq,
    clip_score: clipScore,
    clip_iqa: clipIqa,
    per_image: { clip_score_pair: pair, clip_iqa: iqa, index_order: "[i_m][j_s][prompt]" },
    best,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  writeFileSync(o.out + ".tmp", JSON.stringify(record) + "\n");
  renameSync(o.out + ".tmp", o.out);
  console.log(`best (${best.m}, ${best.s}) JAQ ${best.jaq.toFixed(4)}; wrote ${o.out} in ${record.seconds} s`);
  scorer.dispose();
  pipe.dispose();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

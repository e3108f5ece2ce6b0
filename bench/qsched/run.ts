/**
 * Q-Sched benchmark on the embedded toy-shapes model (not a test): float vs W8A8 vs W4A8, under the torchao policy
 * (nn.Linear only) and policy `all` (convolutions too), each with and without Q-Sched coefficients, on held-out prompts × seeds. Reports JAQ, CLIPScore, CLIP-IQA
 * with seeded 95 % bootstrap intervals, paired ΔJAQ against the same scheme without Q-Sched, and PSNR against the
 * float image of the same sample.
 * Run: `npm run bench:qsched` (= `vite-node bench/qsched/run.ts`) [--coeffs file.json] [--seeds N] [--batch N]
 * [--coeffs-all file.json] [--extra]. Writes bench/qsched/results/qsched-<date>.json and bench/qsched/RESULTS.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadClipScorer } from "../../src/calibration/clip-scorer.ts";
import { QUALITY_ANCHORS } from "../../src/calibration/image-scorer.ts";
import { DEFAULT_CALIBRATION_PROMPTS } from "../../src/calibration/prompts.ts";
import { COSINE_SCALE, clipIqa, cosine } from "../../src/calibration/scores.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import type { GeneratedImage, QuantScheme } from "../../src/pipeline/types.ts";
import { parseCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { HELD_OUT_PROMPTS, SEED_BASE, SEEDS_PER_PROMPT } from "./prompts.ts";
import { bootstrapIndices, finiteMean, interval, psnr, setScores, type Interval, type SampleScores } from "./stats.ts";
import { markdown, table, type Row } from "./report.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const TOY = join(HERE, "..", "..", "models", "toy-shapes");
const DEFAULT_COEFFS = join(HERE, "results", "w4a8-coeffs.json");
/** Calibrated on W4A8 with policy `all` (falls back to the torchao file when missing). */
const DEFAULT_COEFFS_ALL = join(HERE, "results", "w4a8-all-coeffs.json");
/** The model card's landscape maxima (16- and 8-prompt grids), run with --extra as a transfer check. */
const LANDSCAPE_POINTS = [{ m: 0.85, s: 0.8 }, { m: 0.9, s: 0.9 }];
const STEPS = 4;
const GUIDANCE = 2;
const BOOTSTRAP_SEED = 12345;

interface Config {
  name: string;
  quant: QuantScheme;
  policy: "torchao" | "all";
  qsched: { m: number; s: number } | null;
}

function args(argv: string[]) {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return { coeffs: get("--coeffs") ?? DEFAULT_COEFFS, coeffsAll: get("--coeffs-all") ?? DEFAULT_COEFFS_ALL, seeds: Number(get("--seeds") ?? SEEDS_PER_PROMPT), batch: Number(get("--batch") ?? 4), extra: argv.includes("--extra") };
}

/** One image per (seed j, prompt i): prompts go in chunks of `batch` per generate() call, call seed = base + 10·j + chunk. */
async function generateAll(pipe: QSchedPipeline, seeds: number, batch: number): Promise<GeneratedImage[]> {
  const out: GeneratedImage[] = [];
  for (let j = 0; j < seeds; j++) {
    for (let c = 0; c * batch < HELD_OUT_PROMPTS.length; c++) {
      const prompt = HELD_OUT_PROMPTS.slice(c * batch, (c + 1) * batch);
      const r = await pipe.generate({ prompt, seed: SEED_BASE + 10 * j + c, steps: STEPS, guidanceScale: GUIDANCE });
      out.push(...r.images);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const opts = args(process.argv.slice(2));
  const overlap = HELD_OUT_PROMPTS.filter((p) => DEFAULT_CALIBRATION_PROMPTS.includes(p));
  if (overlap.length) throw new Error(`held-out prompts overlap the calibration prompts: ${overlap.join("; ")}`);
  const coeffs = existsSync(opts.coeffs) ? parseCoefficientFile(readFileSync(opts.coeffs, "utf8")) : undefined;
  const q = coeffs?.qsched.scheme === "linear" ? { m: coeffs.qsched.m, s: coeffs.qsched.s } : LANDSCAPE_POINTS[1]!;
  const qSource = coeffs ? `${relative(process.cwd(), opts.coeffs)} (calibrated, JAQ ${coeffs.calibration?.score.toFixed(4) ?? "?"})` : "model card landscape best (0.90, 0.90): no coefficient file";
  const coeffsAll = existsSync(opts.coeffsAll) ? parseCoefficientFile(readFileSync(opts.coeffsAll, "utf8")) : undefined;
  const qAll = coeffsAll?.qsched.scheme === "linear" ? { m: coeffsAll.qsched.m, s: coeffsAll.qsched.s } : q;
  const qAllSource = coeffsAll ? `${relative(process.cwd(), opts.coeffsAll)} (calibrated on W4A8 all, JAQ ${coeffsAll.calibration?.score.toFixed(4) ?? "?"})` : "the torchao W4A8 coefficients (no policy-all file)";
  const configs: Config[] = [];
  for (const quant of ["none", "w8a8", "w4a8"] as const) {
    configs.push({ name: quant === "none" ? "float" : quant.toUpperCase(), quant, policy: "torchao", qsched: null });
    configs.push({ name: `${quant === "none" ? "float" : quant.toUpperCase()} + Q-Sched (${q.m}, ${q.s})`, quant, policy: "torchao", qsched: q });
  }
  for (const quant of ["w8a8", "w4a8"] as const) {
    const qq = quant === "w4a8" ? qAll : q;
    configs.push({ name: `${quant.toUpperCase()} all`, quant, policy: "all", qsched: null });
    configs.push({ name: `${quant.toUpperCase()} all + Q-Sched (${qq.m}, ${qq.s})`, quant, policy: "all", qsched: qq });
  }
  if (opts.extra) for (const p of LANDSCAPE_POINTS) configs.push({ name: `W4A8 + landscape (${p.m}, ${p.s})`, quant: "w4a8", policy: "torchao", qsched: p });

  const t0 = performance.now();
  const gpu = await Gpu.create();
  const scorer = await loadClipScorer(gpu, join(TOY, "clip-scorer"), TOY);
  const texts = await scorer.embedTexts([...HELD_OUT_PROMPTS, ...QUALITY_ANCHORS]);
  const [good, bad] = texts.slice(HELD_OUT_PROMPTS.length);
  const n = HELD_OUT_PROMPTS.length * opts.seeds;
  const resamples = bootstrapIndices(n, BOOTSTRAP_SEED);
  console.log(`${n} samples per configuration (${HELD_OUT_PROMPTS.length} prompts × ${opts.seeds} seeds), ${resamples.length} bootstrap resamples; Q-Sched from ${qSource}`);

  const scores = new Map<string, SampleScores>();
  const images = new Map<string, GeneratedImage[]>();
  const seconds = new Map<string, number>();
  for (const key of [...new Set(configs.map((c) => `${c.quant}/${c.policy}`))]) {
    const [quant, policy] = key.split("/") as [QuantScheme, "torchao" | "all"];
    const pipe = await QSchedPipeline.fromPretrained(TOY, { quant, policy });
    try {
      for (const c of configs.filter((x) => x.quant === quant && x.policy === policy)) {
        const t = performance.now();
        pipe.setQSched(c.qsched);
        const imgs = await generateAll(pipe, opts.seeds, opts.batch);
        const embeds = await scorer.embedImages(imgs);
        const pair = embeds.map((e, i) => COSINE_SCALE * cosine(e, texts[i % HELD_OUT_PROMPTS.length]!));
        scores.set(c.name, { pair, iqa: clipIqa(embeds, good!, bad!) });
        images.set(c.name, imgs);
        seconds.set(c.name, (performance.now() - t) / 1000);
        console.log(`  ${c.name}: ${seconds.get(c.name)!.toFixed(1)} s`);
      }
    } finally {
      pipe.dispose();
    }
  }
  scorer.dispose();

  const floatImgs = images.get("float")!;
  const rows: Row[] = configs.map((c) => {
    const s = scores.get(c.name)!;
    const stat = (f: (idx: readonly number[]) => number) => interval(f, n, resamples);
    const base = configs.find((b) => b.quant === c.quant && b.policy === c.policy && b.qsched === null)!;
    const b = scores.get(base.name)!;
    const delta = (other: SampleScores): Interval => stat((idx) => setScores(s, idx).jaq - setScores(other, idx).jaq);
    const ps = images.get(c.name)!.map((img, i) => psnr(img, floatImgs[i]!));
    return {
      name: c.name,
      quant: c.quant,
      policy: c.policy,
      qsched: c.qsched,
      jaq: stat((idx) => setScores(s, idx).jaq),
      clipScore: stat((idx) => setScores(s, idx).clipScore),
      clipIqa: stat((idx) => setScores(s, idx).clipIqa),
      deltaVsPlain: c.qsched ? delta(b) : undefined,
      deltaVsFloat: c.name === "float" ? undefined : delta(scores.get("float")!),
      psnr: finiteMean(ps),
      seconds: seconds.get(c.name)!,
    };
  });
  const text = table(rows);
  console.log(text);
  const totalS = (performance.now() - t0) / 1000;
  console.log(`total ${totalS.toFixed(0)} s on ${gpu.ctx.describe()}`);
  const date = new Date().toISOString();
  mkdirSync(join(HERE, "results"), { recursive: true });
  const meta = { date, adapter: gpu.ctx.describe(), steps: STEPS, guidance: GUIDANCE, prompts: HELD_OUT_PROMPTS, seeds: opts.seeds, seedRule: "call seed = 500 + 10·j + chunk, prompts in chunks of batch", batch: opts.batch, samples: n, bootstrap: { resamples: resamples.length, seed: BOOTSTRAP_SEED }, qsched: q, qSource, qschedAll: qAll, qAllSource, totalSeconds: totalS };
  writeFileSync(join(HERE, "results", `qsched-${date.slice(0, 10)}.json`), JSON.stringify({ ...meta, rows, perSample: Object.fromEntries(scores) }, null, 2) + "\n");
  writeFileSync(join(HERE, "RESULTS.md"), markdown(meta, text, rows));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench:qsched: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);

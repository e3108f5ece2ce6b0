/**
 * `qsched-gpu calibrate`: finds Q-Sched (m, s) for a quantized model by JAQ and writes a coefficient file.
 * `main(argv)` takes the arguments after "calibrate" and returns the exit code (0 ok, 1 failed, 2 bad usage).
 * The CLIP scorer and the generator are injectable so the bin can wire the GPU CLIP models and tests can use fakes.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { writeFileWhole } from "./write-file.ts";
import { calibrate, type CalibrationProgress, type CandidateGenerator } from "../calibration/calibrate.ts";
import { heatmapPng } from "../calibration/heatmap.ts";
import type { ImageScorer } from "../calibration/image-scorer.ts";
import { fileJournalStore } from "../calibration/journal-file.ts";
import { fastMinBudget, FAST_MIN_BUDGET } from "../calibration/search/fast.ts";
import { DEFAULT_CALIBRATION_PROMPTS, parsePromptFile } from "../calibration/prompts.ts";
import { serializeCoefficientFile } from "../scheduler/coefficient-file.ts";
import { QUANT_SCHEMES, type QuantScheme } from "../pipeline/types.ts";

export const CALIBRATE_USAGE = `usage: qsched-gpu calibrate --model <src> [--quant w4a8] [--policy torchao|all] [--steps 4] [--prompts file] [--search grid|fast]
                           [--budget N] [--out coeffs.json] [--heatmap file.png] [--journal file]
                           [--guidance X] [--k X] [--clip <src>] [--scorer-quant none|w8a8|w4a8|w8a16|w4a16]
  Searches Q-Sched endpoints (m, s) ∈ [0.8, 1.2]² maximising JAQ = ln(CLIPScore) + k·mean CLIP-IQA over a fixed
  prompt set (one image per prompt, seeds 100, 101, …). --search fast (default) or grid (9×9 = 81 candidates).
  --budget counts generations (images, one per candidate per prompt): grid needs 81·P for P prompts; fast defaults
  to 10 % of that, screening candidates on the first P/4 prompts and scoring the promising ones on all.
  --prompts: one prompt per line (default: 25 built-in captions for the toy-shapes model). --journal: resume an
  interrupted run. --policy all quantizes the UNet's convolutions too (default torchao: nn.Linear only). --clip: a CLIPModel
  folder, URL or packed scorer; --scorer-quant quantizes its linears at load (default: float, or a pack's own scheme).
  Without --out the coefficient file goes to stdout; progress goes to stderr.`;


export interface GeneratorRequest {
  model: string;
  quant: QuantScheme;
  policy: "torchao" | "all";
  steps: number;
  guidanceScale?: number;
}

/** How the CLIP scorer is to be loaded (`--scorer-quant`; unset = float, or a packed scorer's own scheme). */
export interface ScorerRequest {
  quant?: QuantScheme;
}

export interface CalibrateCliDeps {
  /** Builds the CLIP scorer; the default reports that none is wired yet. */
  loadScorer?: (clipSource: string | undefined, modelSource: string, req?: ScorerRequest) => Promise<ImageScorer>;
  /** Loads the pipeline; the default uses QSchedPipeline. */
  loadGenerator?: (req: GeneratorRequest) => Promise<{ generate: CandidateGenerator; dispose?: () => void }>;
  /** Progress and messages (default process.stderr). */
  stderr?: { write(s: string): unknown; isTTY?: boolean };
  /** Coefficient file when --out is absent (default process.stdout). */
  stdout?: { write(s: string): unknown };
}

export class UsageError extends Error {}

interface CliOptions {
  model: string;
  quant: QuantScheme;
  policy: "torchao" | "all";
  steps: number;
  prompts?: string;
  search: "grid" | "fast";
  budget?: number;
  out?: string;
  heatmap?: string;
  journal?: string;
  guidance?: number;
  k?: number;
  clip?: string;
  scorerQuant?: QuantScheme;
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a positive integer, found ${JSON.stringify(v)}`);
  return n;
}

function finiteNumber(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, found ${JSON.stringify(v)}`);
  return n;
}

export function parseCalibrateArgs(argv: readonly string[]): CliOptions {
  const args = argv[0] === "calibrate" ? argv.slice(1) : [...argv];
  const o: Partial<CliOptions> = { quant: "w4a8", policy: "torchao", steps: 4, search: "fast" };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} expects a value`);
      return v;
    };
    switch (flag) {
      case "--model": o.model = value(); break;
      case "--quant": {
        const q = value() as QuantScheme;
        if (!QUANT_SCHEMES.includes(q)) throw new UsageError(`--quant expects one of ${QUANT_SCHEMES.join("|")}, found ${JSON.stringify(q)}`);
        o.quant = q;
        break;
      }
      case "--policy": {
        const p = value();
        if (p !== "torchao" && p !== "all") throw new UsageError(`--policy expects torchao or all, found ${JSON.stringify(p)}`);
        o.policy = p;
        break;
      }
      case "--steps": o.steps = positiveInt(flag, value()); break;
      case "--prompts": o.prompts = value(); break;
      case "--search": {
        const s = value();
        if (s !== "grid" && s !== "fast") throw new UsageError(`--search expects grid or fast, found ${JSON.stringify(s)}`);
        o.search = s;
        break;
      }
      case "--budget": o.budget = positiveInt(flag, value()); break;
      case "--out": o.out = value(); break;
      case "--heatmap": o.heatmap = value(); break;
      case "--journal": o.journal = value(); break;
      case "--guidance": o.guidance = finiteNumber(flag, value()); break;
      case "--k": o.k = finiteNumber(flag, value()); break;
      case "--clip": o.clip = value(); break;
      case "--scorer-quant": {
        const q = value() as QuantScheme;
        if (!QUANT_SCHEMES.includes(q)) throw new UsageError(`--scorer-quant expects one of ${QUANT_SCHEMES.join("|")}, found ${JSON.stringify(q)}`);
        o.scorerQuant = q;
        break;
      }
      default: throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (!o.model) throw new UsageError("--model <src> is required");
  // Checked here so a too-small budget fails before a model is loaded; the minimum grows with the prompt count,
  // which checkBudgetForPrompts checks once the prompt file is read (these are the one-prompt minimums).
  const minimum = o.search === "grid" ? 81 : FAST_MIN_BUDGET;
  if (o.budget !== undefined && o.budget < minimum) {
    throw new UsageError(`--budget ${o.budget} is below the ${o.search} search's minimum of ${minimum} generations${o.search === "grid" ? " (9×9 × 1 prompt)" : ""}`);
  }
  return o as CliOptions;
}

/** The budget against the minimum for the actual prompt count (generations: one image per candidate per prompt). */
export function checkBudgetForPrompts(o: Pick<CliOptions, "search" | "budget">, prompts: number): void {
  if (o.budget === undefined) return;
  const min = o.search === "grid" ? { generations: 81 * prompts, detail: `9×9 × ${prompts} prompts` } : fastMinBudget(prompts);
  if (o.budget < min.generations) throw new UsageError(`--budget ${o.budget} is below the ${o.search} search's minimum of ${min.generations} generations for ${prompts} prompts (${min.detail})`);
}

/** Library callers must pass `loadScorer` (the qsched-gpu bin passes the GPU CLIP scorer). */
async function unavailableScorer(): Promise<ImageScorer> {
  throw new Error("CLIP scorer not available: pass deps.loadScorer (the qsched-gpu bin uses loadClipScorer from src/calibration/clip-scorer.ts)");
}

/**
 * Where a model or scorer lives, for the journal key: a URL as is, a folder by its absolute path, so another folder
 * of the same name (or a moved one) is another run rather than mixed into this one.
 */
export function sourceLocation(src: string): string {
  return /^https?:\/\//.test(src) ? src : resolve(src);
}

/** The model's id in coefficient files and journals: a URL as is, a folder by its name (not its absolute path). */
export function modelId(src: string): string {
  if (/^https?:\/\//.test(src)) return src;
  return src.replace(/[\\/]+$/, "").split(/[\\/]/).pop() || src;
}

async function pipelineGenerator(req: GeneratorRequest): Promise<{ generate: CandidateGenerator; dispose?: () => void }> {
  // Imported lazily: argument errors and a missing scorer should not start a GPU device.
  const { QSchedPipeline } = await import("../pipeline/qsched-pipeline.ts");
  const pipe = await QSchedPipeline.fromPretrained(req.model, { quant: req.quant, policy: req.policy });
  return {
    generate: async (m, s, prompt, seed) => {
      pipe.setQSched({ m, s });
      // The image stays on the GPU too, so the CLIP scorer preprocesses it there (calibrate() disposes it).
      const r = await pipe.generate({ prompt, seed, steps: req.steps, guidanceScale: req.guidanceScale, keepRgba: true });
      return { ...r.images[0]!, rgba: r.rgba };
    },
    dispose: () => pipe.dispose(),
  };
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** One progress line: bar, generations, the candidate just scored, best so far, ETA from newly generated images. */
export function formatProgress(p: CalibrationProgress, generated: number, generatedMs: number, width = 20): string {
  const filled = Math.round((width * Math.min(p.done, p.planned)) / p.planned);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  const pt = p.point;
  const score = pt.failed ? "failed" : `JAQ ${pt.jaq!.toFixed(4)}`;
  const best = p.best ? ` best (${p.best.m.toFixed(2)}, ${p.best.s.toFixed(2)}) ${p.best.jaq.toFixed(4)}` : "";
  const eta = generated > 0 && p.done < p.planned ? ` ETA ${formatDuration((generatedMs / generated) * (p.planned - p.done))}` : "";
  const on = ` on ${pt.prompts} prompt${pt.prompts === 1 ? "" : "s"}`;
  return `${bar} ${p.done}/${p.planned} images m=${pt.m.toFixed(2)} s=${pt.s.toFixed(2)} ${score}${on}${pt.resumed ? " (journal)" : ""}${best}${eta}`;
}

export async function main(argv: readonly string[], deps: CalibrateCliDeps = {}): Promise<number> {
  const err = deps.stderr ?? process.stderr;
  const out = deps.stdout ?? process.stdout;
  let opts: CliOptions;
  try {
    opts = parseCalibrateArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`qsched-gpu calibrate: ${e.message}\n${CALIBRATE_USAGE}\n`);
    return 2;
  }
  let dispose: (() => void) | undefined;
  try {
    const prompts = opts.prompts ? parsePromptFile(await readFile(opts.prompts, "utf8"), opts.prompts) : undefined;
    try {
      checkBudgetForPrompts(opts, (prompts ?? DEFAULT_CALIBRATION_PROMPTS).length);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      err.write(`qsched-gpu calibrate: ${e.message}\n${CALIBRATE_USAGE}\n`);
      return 2;
    }
    const scorer = await (deps.loadScorer ?? unavailableScorer)(opts.clip, opts.model, opts.scorerQuant ? { quant: opts.scorerQuant } : {});
    // The quantization the scorer really has (a packed scorer's own when --scorer-quant is unset).
    const scorerQuant = (scorer as Partial<{ quant: QuantScheme }>).quant ?? opts.scorerQuant ?? "none";
    const gen = await (deps.loadGenerator ?? pipelineGenerator)({ model: opts.model, quant: opts.quant, policy: opts.policy, steps: opts.steps, guidanceScale: opts.guidance });
    dispose = gen.dispose;
    // Output folders are made before the search: a run of hours must not end on a missing folder.
    for (const path of [opts.out, opts.heatmap]) if (path) await mkdir(dirname(resolve(path)), { recursive: true });
    let generated = 0;
    let generatedMs = 0;
    let last = Date.now();
    const result = await calibrate({
      model: modelId(opts.model),
      scheme: opts.quant,
      steps: opts.steps,
      generate: gen.generate,
      scorer,
      prompts,
      k: opts.k,
      search: opts.search,
      budget: opts.budget,
      // A journal resumes only a run with the same settings (the torchao policy and a float scorer keep their old
      // keys); another scorer quantization scores differently, so its JAQs do not mix with a float scorer's. The model
      // and the scorer are named by location: two folders of one name are two models.
      extraKey: {
        modelSource: sourceLocation(opts.model),
        scorer: opts.clip ? sourceLocation(opts.clip) : "the model's clip-scorer",
        guidance: opts.guidance ?? null,
        ...(opts.policy === "all" ? { policy: "all" } : {}),
        ...(scorerQuant !== "none" ? { scorerQuant } : {}),
      },
      journal: opts.journal ? fileJournalStore(opts.journal) : undefined,
      onProgress: (p) => {
        const now = Date.now();
        if (p.generated > 0) {
          generated += p.generated;
          generatedMs += now - last;
        }
        last = now;
        const line = formatProgress(p, generated, generatedMs);
        // A terminal gets one bar redrawn in place; logs and pipes get one line per candidate.
        err.write(err.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
      },
    });
    if (err.isTTY) err.write("\n");
    // The policy decides which layers are quantized, so it is part of what the coefficients were calibrated for.
    const text = serializeCoefficientFile(opts.quant === "none" ? result.coefficients : { ...result.coefficients, policy: opts.policy });
    if (opts.out) await writeFileWhole(opts.out, text);
    else out.write(text);
    // calibrate() always returns the linear scheme.
    const q = result.coefficients.qsched as { m: number; s: number };
    if (opts.heatmap) await writeFileWhole(opts.heatmap, await heatmapPng(result.landscape, { chosen: q }));
    err.write(`qsched-gpu calibrate: m=${q.m} s=${q.s} JAQ ${result.coefficients.calibration!.score.toFixed(4)} (${result.landscape.length} candidates, ${result.generatedImages} images generated this run)${opts.out ? `, wrote ${opts.out}` : ""}${opts.heatmap ? `, ${opts.heatmap}` : ""}\n`);
    return 0;
  } catch (e) {
    if (err.isTTY) err.write("\n"); // end a progress bar drawn in place
    err.write(`qsched-gpu calibrate: ${(e as Error).message}\n`);
    return 1;
  } finally {
    dispose?.();
  }
}

/**
 * `npm run demo`: text-to-image with the embedded toy-shapes model (or `--model <folder|url>`),
 * writes a PNG, prints timings and peak GPU memory. `--smoke` runs the kernel smoke demo instead.
 * A packed pipeline folder (`weights-tools pack-pipeline`) brings its own scheme; `--qsched auto` uses
 * the folder's qsched.json when it was calibrated for the scheme loaded.
 */
import { exitAfterOutput } from "../util/exit-after-output.ts";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { writeFileWhole } from "./write-file.ts";
import { dirname, resolve } from "node:path";
import { toyModelLocation } from "#platform";
import { QSchedPipeline } from "../pipeline/qsched-pipeline.ts";
import { encodePng, upscaleNearest } from "../pipeline/png.ts";
import type { QSchedOption, QuantScheme } from "../pipeline/types.ts";
import { runSmokeDemo } from "./smoke-demo.ts";
import { singleThreadLavapipeForToy, TOY_THREADS_NOTE } from "./toy-threads.ts";
import { removeTemporariesOnInterrupt } from "../util/interrupt-cleanup.ts";

const USAGE = `usage: npm run demo -- [--prompt TEXT] [--seed N] [--steps N] [--guidance G] [--quant none|w8a8|w4a8|w8a16|w4a16]
                     [--policy torchao|all] [--qsched m,s|auto|coeffs.json] [--width W] [--height H] [--out file.png]
                     [--dtype f32|f16] [--model folder|url] [--variant fp16] [--taesd folder|url] [--smoke]
  --taesd: decode the final image with this TAESD (AutoencoderTiny, e.g. madebyollin/taesd) instead of the VAE.`;

/** The embedded default model (models/toy-shapes in the package). */
export function defaultModelFolder(): string {
  return toyModelLocation();
}

interface DemoArgs {
  prompt: string;
  seed: number;
  steps?: number;
  guidance?: number;
  /** Unset: float, or a packed folder's own scheme. */
  quant?: QuantScheme;
  policy?: "torchao" | "all";
  /** Model weights and activations: f32 (default) or f16 (needs shader-f16). */
  dtype?: "f32" | "f16";
  qsched: QSchedOption;
  width?: number;
  height?: number;
  out: string;
  model?: string;
  /** Weight file variant (diffusers' variant, e.g. fp16). */
  variant?: string;
  /** A TAESD folder or URL: the final decode uses it instead of the pipeline's VAE. */
  taesd?: string;
  smoke: boolean;
}

/** A usage mistake: exit 2 with the usage text (other failures exit 1). */
class DemoUsageError extends Error {}

export function parseDemoArgs(argv: string[]): DemoArgs & { help?: boolean } {
  const a: DemoArgs & { help?: boolean } = { prompt: "a red circle on a blue background", seed: 100, qsched: null, out: "demo-output/demo.png", smoke: false };
  // A flag's value must be there and must not be the next flag ("--model --out x" is a missing value, not a model).
  const value = (flag: string, v: string | undefined): string => {
    if (v === undefined || v.startsWith("--")) throw new DemoUsageError(`${flag} expects a value`);
    return v;
  };
  const num = (flag: string, v: string | undefined) => {
    const text = value(flag, v);
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) throw new DemoUsageError(`${flag} expects a number, got ${JSON.stringify(text)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    switch (flag) {
      case "--prompt": a.prompt = value(flag, v); i++; break;
      case "--seed": a.seed = num(flag, v); i++; break;
      case "--steps": a.steps = num(flag, v); i++; break;
      case "--guidance": a.guidance = num(flag, v); i++; break;
      case "--width": a.width = num(flag, v); i++; break;
      case "--height": a.height = num(flag, v); i++; break;
      case "--quant": a.quant = value(flag, v) as QuantScheme; i++; break;
      case "--policy":
        if (v !== "torchao" && v !== "all") throw new DemoUsageError(`--policy expects torchao or all, got ${JSON.stringify(v)}`);
        a.policy = v;
        i++;
        break;
      case "--dtype":
        if (v !== "f32" && v !== "f16") throw new DemoUsageError(`--dtype expects f32 or f16, got ${JSON.stringify(v)}`);
        a.dtype = v;
        i++;
        break;
      case "--out": a.out = userPath(value(flag, v)); i++; break;
      case "--model": a.model = userPath(value(flag, v)); i++; break;
      case "--taesd": a.taesd = userPath(value(flag, v)); i++; break;
      case "--variant": a.variant = value(flag, v); i++; break;
      case "--qsched": a.qsched = parseQSchedArg(value(flag, v)); i++; break;
      case "--smoke": a.smoke = true; break;
      case "--help": case "-h": a.help = true; break;
      default: throw new DemoUsageError(`unknown option ${flag}`);
    }
  }
  return a;
}

/**
 * A path the user typed, against the folder they typed it in: `npm run demo` runs in the package root, and npm
 * passes the caller's folder as INIT_CWD. URLs stay as they are.
 */
function userPath(p: string): string {
  return /^https?:\/\//.test(p) ? p : resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

function parseQSchedArg(v: string): QSchedOption {
  if (v === "auto") return "auto";
  const m = /^([-+0-9.e]+),([-+0-9.e]+)$/.exec(v);
  if (m) return { m: Number(m[1]), s: Number(m[2]) };
  v = userPath(v);
  // Otherwise a coefficient file, read by main(); a lone number or a typo is not one.
  if (!existsSync(v) || !statSync(v).isFile()) throw new DemoUsageError(`--qsched expects m,s (e.g. 0.9,0.9), auto or a coefficient file, got ${JSON.stringify(v)}`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs(argv);
  } catch (e) {
    if (!(e instanceof DemoUsageError)) throw e;
    console.error(`demo: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.smoke) return runSmokeDemo();
  const model = args.model ?? defaultModelFolder();
  // Before any device exists: the driver reads it at start (src/cli/toy-threads.ts).
  const toyThreads = !args.model && singleThreadLavapipeForToy();
  // The toy model's recommended call (model card): 4 steps, classifier-free guidance 2.
  if (!args.model) {
    args.steps ??= 4;
    args.guidance ??= 2;
  }
  const t0 = performance.now();
  let qsched = args.qsched;
  if (typeof qsched === "string" && qsched !== "auto") qsched = (await import("node:fs")).readFileSync(qsched, "utf8");
  const pipe = await QSchedPipeline.fromPretrained(model, { quant: args.quant, policy: args.policy, qsched, dtype: args.dtype, variant: args.variant });
  if (args.taesd) await pipe.loadPreviewDecoder(args.taesd);
  const tLoad = performance.now() - t0;
  const policy = pipe.pack ? `policy ${pipe.pack.info.policy}, from ${pipe.pack.location}` : `policy ${args.policy ?? "torchao"}`;
  console.log(`model:    ${args.model ?? "embedded toy-shapes (models/toy-shapes)"} — ${pipe.kind}, quant ${pipe.quant}${pipe.quant !== "none" ? ` (${policy})` : ""}, dtype ${args.dtype ?? "f32"}`);
  const qs = pipe.qschedSource;
  if (qs.kind !== "none") console.log(`qsched:   ${qs.kind === "file" ? `${qs.location} (calibrated for ${qs.quant})` : qs.kind === "fallback" ? "auto found no coefficients for this scheme: (m, s) = (1, 1)" : typeof args.qsched === "string" && args.qsched !== "auto" ? `from ${args.qsched}` : "as given"}`);
  console.log(`adapter:  ${pipe.gpu.ctx.describe()}`);
  if (toyThreads && /llvmpipe/i.test(pipe.gpu.ctx.describe())) console.log(`threads:  ${TOY_THREADS_NOTE}`);
  const res = await pipe.generate({
    prompt: args.prompt,
    seed: args.seed,
    steps: args.steps,
    guidanceScale: args.guidance,
    width: args.width,
    height: args.height,
    decoder: args.taesd ? "taesd" : "vae",
    onStep: (e) => console.log(`step ${e.step}/${e.steps} (t=${e.timestep}) ${e.elapsedMs.toFixed(0)} ms`),
    // Only worth a line where a decode takes a while (full-size models); the toy's takes milliseconds.
    onDecode: args.model ? (p) => console.log(`decode ${p.done}/${p.total} (${p.module})`) : undefined,
  });
  const out = resolve(args.out);
  mkdirSync(dirname(out), { recursive: true });
  const img = res.images[0]!;
  await writeFileWhole(out, await encodePng(img));
  const big = out.replace(/\.png$/i, "") + `.x${Math.max(1, Math.floor(512 / img.width))}.png`;
  if (img.width < 256) await writeFileWhole(big, await encodePng(upscaleNearest(img, Math.max(1, Math.floor(512 / img.width)))));
  const t = res.timings;
  console.log(`prompt:   "${args.prompt}" seed ${args.seed}`);
  console.log(`time:     load ${tLoad.toFixed(0)} ms, text ${t.textMs.toFixed(0)} ms, denoise ${t.denoiseMs.toFixed(0)} ms (${t.stepMs.map((s) => s.toFixed(0)).join("/")} per step), decode ${t.decodeMs.toFixed(0)} ms${args.taesd ? " (TAESD)" : ""}`);
  console.log(`memory:   peak ${(res.peakBytes / 2 ** 20).toFixed(1)} MiB of activations, ${(pipe.gpu.pool.held / 2 ** 20).toFixed(1)} MiB held by the pool (weights included)`);
  console.log(`wrote:    ${out} (${img.width}×${img.height})${img.width < 256 ? ` and ${big}` : ""}`);
  pipe.dispose();
  return 0;
}

removeTemporariesOnInterrupt(); // Ctrl-C leaves no .partial file behind
main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (e) => {
    console.error(`demo: ${(e as Error).message}`);
    exitAfterOutput(1);
  },
);

import { exitAfterOutput } from "../util/exit-after-output.ts";
import { toyModelLocation } from "#platform";
import type { ImageScorer } from "../calibration/image-scorer.ts";
import type { ScorerRequest } from "./calibrate.ts";
import { verifyFolder, formatResult } from "../verify/run.ts";
import { singleThreadLavapipeForToy, TOY_THREADS_NOTE } from "./toy-threads.ts";
import { removeTemporariesOnInterrupt } from "../util/interrupt-cleanup.ts";

const USAGE = `usage: qsched-gpu verify <fixture-folder> [--tol X] [--dtype f32|f16] [--quiet]
  Runs every case of a fixture folder (its manifest.json "kind" picks the checks) and ends with
  "N passed, M failed". --tol sets the per-tensor bound on max|a-b| / max(max|b|, 1). --dtype f16
  runs pipeline and taesd folders' models in half precision (needs shader-f16), with the f16 bounds.
       qsched-gpu calibrate [--model <src>] [--clip <src>] [options]   (qsched-gpu calibrate --help)
  Finds Q-Sched (m, s) by JAQ. Default model: the embedded toy-shapes; default scorer: <model>/clip-scorer.`;

/**
 * The calibration scorer: `--clip <src>`, else the model's own `clip-scorer/` (the toy ships one). A scorer without
 * a text tower borrows the model's text_encoder and tokenizer. The scorer gets its own Gpu on the shared device.
 * `--scorer-quant` quantizes its linears at load (a packed scorer's own scheme is used when it is unset).
 */
async function loadScorer(clipSource: string | undefined, modelSource: string, req: ScorerRequest = {}): Promise<ImageScorer> {
  const { Gpu } = await import("../gpu/runtime.ts");
  const { loadClipScorer } = await import("../calibration/clip-scorer.ts");
  const { resolveSource } = await import("../pipeline/load.ts");
  let clip = clipSource;
  const model = await resolveSource(modelSource);
  // The model first: a missing or wrong folder should be named as such, not as a missing scorer.
  if (!(await model.exists("model_index.json"))) throw new Error(`${modelSource} is not a diffusers pipeline folder (no model_index.json)`);
  if (!clip) {
    if (!(await model.exists("clip-scorer/config.json"))) {
      throw new Error(`${modelSource} has no clip-scorer/ folder; pass --clip <CLIPModel folder or URL>`);
    }
    clip = `${modelSource.replace(/[\\/]+$/, "")}/clip-scorer`;
  }
  return loadClipScorer(await Gpu.create(), clip, { textTowerFolder: modelSource, quant: req.quant });
}

async function calibrate(rest: string[]): Promise<number> {
  const { main: calibrateMain, CALIBRATE_USAGE } = await import("./calibrate.ts");
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(CALIBRATE_USAGE.replace("--model <src>", "[--model <src>]"));
    return 0;
  }
  if (!rest.includes("--model")) {
    let toy: string;
    try {
      toy = toyModelLocation();
    } catch (e) {
      console.error(`qsched-gpu calibrate: no --model given, and ${(e as Error).message}`);
      return 2;
    }
    rest = ["--model", toy, ...rest];
    // Before any device exists: the driver reads it at start (src/cli/toy-threads.ts).
    if (singleThreadLavapipeForToy()) console.error(`qsched-gpu calibrate: ${TOY_THREADS_NOTE}`);
  }
  return calibrateMain(rest, { loadScorer });
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "calibrate") return calibrate(rest);
  const help = (a: string | undefined) => a === "--help" || a === "-h" || a === "help";
  if (help(cmd) || (cmd === "verify" && rest.some(help))) {
    console.log(USAGE);
    return 0;
  }
  if (cmd !== "verify") {
    console.error(USAGE);
    return 2;
  }
  let folder: string | undefined;
  let tol: number | undefined;
  let quiet = false;
  let dtype: "f32" | "f16" | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--tol") {
      const text = rest[++i];
      tol = text === undefined || text.trim() === "" ? NaN : Number(text);
      if (!Number.isFinite(tol) || tol < 0) {
        console.error(`qsched-gpu verify: --tol expects a non-negative number, got ${JSON.stringify(rest[i])}`);
        return 2;
      }
    } else if (a === "--dtype") {
      const d = rest[++i];
      if (d !== "f32" && d !== "f16") {
        console.error(`qsched-gpu verify: --dtype expects f32 or f16, got ${JSON.stringify(d)}`);
        return 2;
      }
      dtype = d;
    } else if (a === "--quiet") quiet = true;
    else if (a.startsWith("--")) {
      console.error(`qsched-gpu verify: unknown option ${a}\n${USAGE}`);
      return 2;
    } else if (folder !== undefined) {
      // One folder per run: a second one would silently replace the first.
      console.error(`qsched-gpu verify: one folder per run, got ${JSON.stringify(folder)} and ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    } else folder = a;
  }
  if (!folder) {
    console.error(USAGE);
    return 2;
  }
  try {
    const report = await verifyFolder(folder, { tol, dtype, log: quiet ? undefined : (l) => console.log(l) });
    for (const r of report.results) if (!r.ok || !quiet) console.log(formatResult(r));
    console.log(`${report.passed} passed, ${report.failed} failed`);
    return report.failed === 0 && report.results.length > 0 ? 0 : 1;
  } catch (e) {
    console.error(`qsched-gpu verify: ${(e as Error).message}`);
    return 1;
  }
}

removeTemporariesOnInterrupt(); // Ctrl-C leaves no .partial file behind
main(process.argv.slice(2)).then((code) => exitAfterOutput(code));

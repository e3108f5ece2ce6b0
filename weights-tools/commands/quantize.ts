/**
 * weights-tools quantize <diffusers-folder> --component unet --scheme w4a8 [--policy torchao|all]
 *   [--group-size N|per-channel] [--keep-float REGEX]... [--variant fp16] [--source-model ID] --out <pack.safetensors>
 * Streams the component tensor by tensor (read one, quantize it, write it) into a qsched pack.
 */
import { basename, dirname, resolve } from "node:path";
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { QUANT_FORMATS, checkGroupSize, parseSchemeId } from "../../src/quant/formats.ts";
import { DEFAULT_KEEP_FLOAT, parsePolicy } from "../../src/quant/policy.ts";
import { writePack } from "../../src/quant/pack.ts";
import { openComponentSource } from "../../src/quant/component-source.ts";

export const USAGE = `usage: weights-tools quantize <diffusers-folder> --component <name> --scheme w8a8|w4a8|w8a16|w4a16 --out <pack.safetensors>
  [--policy torchao|all]      torchao (default): 2-D Linear weights with torchao's skip rules; all: linears and convs
  [--group-size N|per-channel] default: the scheme's (W4A8 32, W4A16 128, 8-bit weights per-channel)
  [--keep-float REGEX]        (policy all, repeatable) names kept float; default ${DEFAULT_KEEP_FLOAT.join(" ")}
  [--variant fp16]            read <stem>.fp16.safetensors
  [--source-model ID]         recorded in the pack (default: the folder name)
  [--force]                   replace an existing --out file (never one of the source's weight files)`;

interface QuantizeArgs {
  folder: string;
  component: string;
  scheme: string;
  out: string;
  policy: string;
  groupSize?: number | "per-channel";
  keepFloat: string[];
  variant?: string;
  sourceModel?: string;
  force: boolean;
}

function parseArgs(args: string[]): QuantizeArgs {
  const positional: string[] = [];
  const opts: Record<string, string> = {};
  const keepFloat: string[] = [];
  let force = false;
  const known = ["--component", "--scheme", "--out", "--policy", "--group-size", "--keep-float", "--variant", "--source-model"];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--force") force = true;
    else if (!a.startsWith("--")) positional.push(a);
    else if (!known.includes(a)) throw new Error(`unknown option ${a}`);
    else if (i + 1 >= args.length) throw new Error(`${a} expects a value`);
    else if (a === "--keep-float") keepFloat.push(args[++i]!);
    else opts[a] = args[++i]!;
  }
  if (positional.length !== 1) throw new Error(`expected one <diffusers-folder>, got ${positional.length}`);
  for (const req of ["--component", "--scheme", "--out"]) if (!opts[req]) throw new Error(`${req} is required`);
  const gs = opts["--group-size"];
  let groupSize: number | "per-channel" | undefined;
  if (gs !== undefined) {
    groupSize = gs === "per-channel" ? gs : Number(gs);
    if (groupSize !== "per-channel" && !Number.isInteger(groupSize)) throw new Error(`--group-size expects an integer or per-channel, got "${gs}"`);
  }
  return {
    folder: positional[0]!,
    component: opts["--component"]!,
    scheme: opts["--scheme"]!,
    out: opts["--out"]!,
    policy: opts["--policy"] ?? "torchao",
    groupSize,
    keepFloat: keepFloat.length ? keepFloat : DEFAULT_KEEP_FLOAT,
    variant: opts["--variant"],
    sourceModel: opts["--source-model"],
    force,
  };
}

/**
 * Where the pack may be written: never over one of the source's weight files (it would replace the float weights with
 * the pack under their name), never over something that is not a regular file (a device, a folder), and over an
 * existing file only with --force.
 */
function checkOutPath(out: string, folder: string, sourceFiles: readonly string[], force: boolean): void {
  if (!existsSync(out)) return;
  const real = realpathSync(out);
  if (sourceFiles.some((f) => existsSync(resolve(folder, f)) && realpathSync(resolve(folder, f)) === real)) {
    throw new Error(`--out ${out} is one of the source's weight files; write the pack elsewhere`);
  }
  if (!statSync(real).isFile()) throw new Error(`--out ${out} exists and is not a regular file`);
  if (!force) throw new Error(`--out ${out} exists; pass --force to replace it`);
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let a: QuantizeArgs;
  try {
    a = parseArgs(args);
    // Usage errors (exit 2) before any file is read: scheme, policy, the float-kept patterns, the group size.
    checkGroupSize(parseSchemeId(a.scheme), a.groupSize);
    parsePolicy(a.policy, a.keepFloat);
    for (const p of a.keepFloat) new RegExp(p);
  } catch (e) {
    console.error(`weights-tools quantize: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  try {
    const scheme = parseSchemeId(a.scheme);
    const policy = parsePolicy(a.policy, a.keepFloat);
    const comp = await openComponentSource(a.folder, a.component, a.variant);
    try {
      checkOutPath(a.out, a.folder, comp.files, a.force);
    } catch (e) {
      comp.close();
      throw e;
    }
    mkdirSync(dirname(resolve(a.out)), { recursive: true });
    let quantized = 0;
    let kept = 0;
    try {
      const plan = writePack(a.out, comp.source, {
        scheme,
        groupSize: a.groupSize,
        policy,
        sourceModel: a.sourceModel ?? basename(resolve(a.folder)),
        component: a.component,
        onTensor: (_name, q) => (q ? quantized++ : kept++),
      });
      for (const [name, reason] of plan.skipped) console.log(`float ${name}: ${reason}`);
    } finally {
      comp.close();
    }
    const inBytes = comp.files.reduce((s, f) => s + statSync(resolve(a.folder, f)).size, 0);
    const outBytes = statSync(a.out).size;
    const seconds = (performance.now() - started) / 1000;
    // maxRSS is in kilobytes on Linux and macOS.
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    console.log(
      `${a.component} ${scheme} (${QUANT_FORMATS[scheme].torchao}, group size ${a.groupSize ?? QUANT_FORMATS[scheme].defaultGroupSize}, policy ${policy.id}): ${quantized} tensors quantized, ${kept} kept float; ` +
        `${(inBytes / 2 ** 20).toFixed(1)} MiB → ${(outBytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB → ${a.out}`,
    );
    return 0;
  } catch (e) {
    console.error(`weights-tools quantize: ${(e as Error).message}`);
    return 1;
  }
}

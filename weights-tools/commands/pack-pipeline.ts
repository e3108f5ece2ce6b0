/**
 * weights-tools pack-pipeline <diffusers-folder> --scheme w4a8 [--policy torchao|all] [--group-size N]
 *   [--qsched coeffs.json] [--variant fp16] [--source-model ID] --out <folder> [--force] [--quiet]
 * Writes a packed pipeline (layout: src/quant/packed-pipeline.ts): the source folder with the UNet's
 * float weights replaced by a pack, streamed one tensor at a time. Given a CLIPModel folder (a calibration
 * scorer: config.json, no model_index.json) it packs that model instead: model.qpack.safetensors beside
 * config.json, which loadClipScorer loads. Everything is written to a temporary
 * folder next to --out and renamed into place at the end, so --out is never left half-written.
 */
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { QUANT_FORMATS, checkGroupSize, parseSchemeId } from "../../src/quant/formats.ts";
import { openComponentSource } from "../../src/quant/component-source.ts";
import { writePack } from "../../src/quant/pack.ts";
import { removeOnInterrupt } from "../../src/util/interrupt-cleanup.ts";
import { COEFFICIENT_FILE, packFilePath } from "../../src/quant/packed-pipeline.ts";
import { parsePolicy } from "../../src/quant/policy.ts";
import { parseCoefficientFile, serializeCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { SAFETENSORS_DTYPE_BYTES } from "../../src/weights/safetensors/dtypes.ts";
import { formatBytes, ProgressBar } from "../progress-bar.ts";

export const PACK_PIPELINE_USAGE = `usage: weights-tools pack-pipeline <diffusers-folder> --scheme w8a8|w4a8|w8a16|w4a16 --out <folder>
  [--policy torchao|all]      torchao (default): 2-D Linear weights with torchao's skip rules; all: linears and convs
  [--group-size N]            4-bit group size (default: the scheme's, 32 for W4A8)
  [--qsched coeffs.json]      Q-Sched coefficient file to ship as qsched.json (must be for --scheme if it says)
  [--variant fp16]            read the UNet's <stem>.fp16.safetensors
  [--source-model ID]         recorded in the pack (default: the folder name)
  [--force]                   replace a non-empty --out folder
  [--quiet]                   no progress output
  Copies the folder, writing unet/${basename(packFilePath("unet"))} instead of the UNet's float weights.
  A CLIPModel folder (calibration scorer) is packed whole: ${packFilePath("", "model")} instead of model.safetensors.
  Exit codes: 0 written, 1 failed (nothing written to --out), 2 usage error.`;

interface PackPipelineArgs {
  folder: string;
  scheme: string;
  out: string;
  policy: string;
  groupSize?: number;
  qsched?: string;
  variant?: string;
  sourceModel?: string;
  force: boolean;
  quiet: boolean;
}

function parseArgs(args: string[]): PackPipelineArgs {
  const positional: string[] = [];
  const opts: Record<string, string> = {};
  const flags = new Set<string>();
  const withValue = ["--scheme", "--out", "--policy", "--group-size", "--qsched", "--variant", "--source-model"];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--force" || a === "--quiet") flags.add(a);
    else if (!a.startsWith("--")) positional.push(a);
    else if (!withValue.includes(a)) throw new Error(`unknown option ${a}`);
    else if (i + 1 >= args.length) throw new Error(`${a} expects a value`);
    else opts[a] = args[++i]!;
  }
  if (positional.length !== 1) throw new Error(`expected one <diffusers-folder>, got ${positional.length}`);
  for (const req of ["--scheme", "--out"]) if (!opts[req]) throw new Error(`${req} is required`);
  const gs = opts["--group-size"];
  if (gs !== undefined && !/^\d+$/.test(gs)) throw new Error(`--group-size expects an integer, got "${gs}"`);
  return {
    folder: positional[0]!,
    scheme: opts["--scheme"]!,
    out: opts["--out"]!,
    policy: opts["--policy"] ?? "torchao",
    groupSize: gs === undefined ? undefined : Number(gs),
    qsched: opts["--qsched"],
    variant: opts["--variant"],
    sourceModel: opts["--source-model"],
    force: flags.has("--force"),
    quiet: flags.has("--quiet"),
  };
}

/** `p` with symlinks resolved, as far up as it exists (an --out not made yet: its parent's real path + its name). */
function realPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realPath(parent), basename(abs));
}

/** Adds the owner's write (and, for folders, search) permission through a tree copied from a read-only source. */
function makeWritable(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chmodSync(path, st.mode | (st.isDirectory() ? 0o700 : 0o600));
  if (st.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** Removes a temporary tree; a failure to clean up is reported, not thrown over the error that got us here. */
function removeQuietly(path: string): void {
  try {
    if (existsSync(path)) makeWritable(path);
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    console.error(`weights-tools pack-pipeline: could not remove the temporary folder ${path}: ${(e as Error).message}`);
  }
}

/** Files of `component` ("" = the folder's root) the pack replaces: float weights of every variant, shard indexes, PyTorch pickles. */
function isWeightFile(rel: string, component: string): boolean {
  const parts = rel.split(sep);
  const file = component ? (parts.length === 2 && parts[0] === component ? parts[1]! : undefined) : parts.length === 1 ? parts[0]! : undefined;
  if (file === undefined) return false;
  return /\.(safetensors|bin|ckpt|pt|pth|msgpack)$/.test(file) || /\.(safetensors|bin)(\.[\w-]+)?\.index(\.[\w-]+)?\.json$/.test(file);
}

/** What the folder holds: a diffusers pipeline (its UNet is packed) or a CLIPModel (packed whole, e.g. a calibration scorer). */
function packTarget(src: string): { component: string; label: string; packPath: string; configPath: string } {
  if (existsSync(join(src, "model_index.json"))) return { component: "unet", label: "unet", packPath: packFilePath("unet"), configPath: "unet/config.json" };
  const configPath = join(src, "config.json");
  if (existsSync(configPath)) {
    const c = JSON.parse(readFileSync(configPath, "utf8")) as { architectures?: unknown; model_type?: unknown };
    if (c.model_type === "clip" || (Array.isArray(c.architectures) && c.architectures.includes("CLIPModel"))) {
      return { component: "", label: "clip-scorer", packPath: packFilePath("", "model"), configPath: "config.json" };
    }
  }
  throw new Error(`${src} is neither a diffusers pipeline folder (model_index.json) nor a CLIPModel folder (config.json with model_type "clip")`);
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(PACK_PIPELINE_USAGE);
    return 0;
  }
  let a: PackPipelineArgs;
  try {
    a = parseArgs(args);
    checkGroupSize(parseSchemeId(a.scheme), a.groupSize);
    parsePolicy(a.policy);
  } catch (e) {
    console.error(`weights-tools pack-pipeline: ${(e as Error).message}\n${PACK_PIPELINE_USAGE}`);
    return 2;
  }
  const started = performance.now();
  // Real paths: a source given through a symlink (or an --out that is one) must not escape the checks below; before,
  // --out became a link to the source and --force deleted the source.
  const src = realPath(a.folder);
  const out = realPath(a.out);
  let tmp: string | undefined;
  let forgetTmp = () => {};
  try {
    const scheme = parseSchemeId(a.scheme);
    const policy = parsePolicy(a.policy);
    const target = packTarget(src);
    if (a.qsched && !target.component) throw new Error(`--qsched: ${src} is a CLIP model, not a pipeline; Q-Sched coefficients belong to a pipeline`);
    if (out === src || src.startsWith(out + sep) || out.startsWith(src + sep)) throw new Error(`--out ${out} must lie outside the source folder ${src} (and not contain it)`);
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0) && !a.force) {
      throw new Error(`--out ${out} exists and is not an empty folder; pass --force to replace it`);
    }
    // The coefficient file is checked before any work: it must be for the scheme being packed.
    let qschedText: string | undefined;
    if (a.qsched) {
      const file = parseCoefficientFile(readFileSync(a.qsched, "utf8"));
      if (file.quant !== undefined && file.quant !== scheme) throw new Error(`--qsched ${a.qsched} was calibrated for ${file.quant}, not ${scheme}`);
      if (file.policy !== undefined && file.policy !== policy.id) throw new Error(`--qsched ${a.qsched} was calibrated with policy ${file.policy}, not ${policy.id}`);
      qschedText = serializeCoefficientFile({ ...file, quant: scheme, policy: policy.id });
    }
    const componentConfig = JSON.parse(readFileSync(join(src, target.configPath), "utf8")) as Record<string, unknown>;

    mkdirSync(dirname(out), { recursive: true });
    tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}-${Date.now().toString(36)}`);
    forgetTmp = removeOnInterrupt(tmp);
    // Everything but the packed component's float weights, as it is (a packed folder keeps tokenizers, VAE, …).
    // dereference: a Hugging Face cache snapshot is a folder of links into the cache's blobs; the pack must hold the
    // files themselves. Then owner-writable: a read-only source's modes would make the pack unwritable.
    cpSync(src, tmp, { recursive: true, dereference: true, filter: (p) => !isWeightFile(relative(src, p), target.component) });
    makeWritable(tmp);
    if (qschedText !== undefined) writeFileSync(join(tmp, COEFFICIENT_FILE), qschedText);

    const comp = await openComponentSource(src, target.component, a.variant);
    const inBytes = comp.files.reduce((s, f) => s + statSync(join(src, f)).size, 0);
    const sizes = new Map(comp.source.specs.map((s) => [s.name, s.shape.reduce((x, y) => x * y, 1) * SAFETENSORS_DTYPE_BYTES[s.dtype]]));
    const tensorBytes = [...sizes.values()].reduce((x, y) => x + y, 0);
    const bar = new ProgressBar(`${target.label} → ${scheme}`, tensorBytes, a.quiet);
    let done = 0;
    let quantized = 0;
    let kept = 0;
    const packPath = join(tmp, target.packPath);
    try {
      writePack(packPath, comp.source, {
        scheme,
        groupSize: a.groupSize,
        policy,
        sourceModel: a.sourceModel ?? basename(src),
        component: target.label,
        componentConfig,
        onTensor: (name, q) => {
          if (q) quantized++;
          else kept++;
          done += sizes.get(name) ?? 0;
          bar.update(done);
        },
      });
    } finally {
      comp.close();
    }
    // Swap into place: only now does --out change.
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    tmp = undefined;
    const packBytes = statSync(join(out, target.packPath)).size;
    const peakMiB = process.resourceUsage().maxRSS / 1024; // kilobytes on Linux and macOS
    console.log(
      `${target.label} ${scheme} (${QUANT_FORMATS[scheme].torchao}, group size ${a.groupSize ?? QUANT_FORMATS[scheme].defaultGroupSize}, policy ${policy.id}): ${quantized} tensors quantized, ${kept} kept float; ` +
        `${formatBytes(inBytes)} → ${formatBytes(packBytes)}; folder ${formatBytes(dirBytes(out))}${qschedText ? `, with ${COEFFICIENT_FILE}` : ""}; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB → ${out}`,
    );
    return 0;
  } catch (e) {
    console.error(`weights-tools pack-pipeline: ${(e as Error).message}`);
    return 1;
  } finally {
    if (tmp) removeQuietly(tmp); // never leave a partial folder behind
    forgetTmp();
  }
}

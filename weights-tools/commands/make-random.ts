import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { openNodeFileSink } from "../../src/weights/safetensors/node-sink.ts";
import { SafetensorsStreamWriter } from "../../src/weights/safetensors/stream-writer.ts";
import { tensorByteLength } from "../../src/weights/safetensors/writer.ts";
import type { SafetensorsDtype } from "../../src/weights/safetensors/dtypes.ts";
import { planCheckpoint, type ComponentPlan } from "../checkpoint-plan.ts";
import { ProgressBar, formatBytes } from "../progress-bar.ts";
import { randomTensorChunks } from "../random-fill.ts";

/** Weight files and shard indexes of a component folder (any variant): replaced whole by a new run. */
const WEIGHT_FILE = /\.(safetensors|bin)(\.partial)?$|\.(safetensors|bin)(\.[\w-]+)?\.index(\.[\w-]+)?\.json$/;

export const MAKE_RANDOM_USAGE = `usage: weights-tools make-random --config <model folder | component folder | config.json> --out <folder>
       [--seed N] [--dtype f16|f32|bf16] [--tiny] [--shard-bytes N] [--quiet]
  Writes a random-weight checkpoint in the exact diffusers layout: every file of the config folder is
  copied, and each component with a tensors.json gets its weights (normal x 0.02, zero biases, unit
  norm scales; seeded: a tensor depends only on --seed and its name). Streams to disk tensor by tensor.
  --dtype f16 writes the fp16 variant (*.fp16.safetensors); default: each tensor's published dtype.
  --tiny clamps every dimension to at most ${8} (same names and ranks; shapes no longer match config.json).
  --shard-bytes splits a component above this payload size into shards plus an index (default 10e9,
  diffusers' default max_shard_size "10GB").`;

/** With --tiny, each dimension is clamped to this: small enough for fast tests, same names and ranks. */
export const TINY_MAX_DIM = 8;
/** diffusers' default `max_shard_size` ("10GB", decimal). */
export const DEFAULT_SHARD_BYTES = 10_000_000_000;

const FLOAT_DTYPES = new Set<SafetensorsDtype>(["F32", "F16", "BF16", "F64"]);
const DTYPE_FLAG: Record<string, SafetensorsDtype> = { f16: "F16", f32: "F32", bf16: "BF16" };

interface Shard {
  file: string;
  tensors: ComponentPlan["tensors"];
}

/** Splits tensors, in order, into shards of at most `maxBytes` (a bigger tensor gets a shard alone). */
function splitShards(tensors: ComponentPlan["tensors"], maxBytes: number): ComponentPlan["tensors"][] {
  const shards: ComponentPlan["tensors"][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const b = tensorByteLength(t.dtype, t.shape);
    if (size + b > maxBytes && shards[shards.length - 1]!.length) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1]!.push(t);
    size += b;
  }
  return shards;
}

/** Shard and index names as diffusers writes them, variant included. */
function shardNames(stem: string, variant: string | undefined, count: number): { shards: string[]; index: string } {
  const base = variant ? `${stem}.${variant}` : stem;
  if (count === 1) return { shards: [`${base}.safetensors`], index: "" };
  const pad = (n: number) => String(n).padStart(5, "0");
  return {
    shards: Array.from({ length: count }, (_, i) => `${base}-${pad(i + 1)}-of-${pad(count)}.safetensors`),
    index: variant ? `${stem}.safetensors.index.${variant}.json` : `${stem}.safetensors.index.json`,
  };
}

async function writeShard(path: string, shard: Shard, seed: number, metadata: Record<string, string>, bar: ProgressBar, done: { bytes: number }): Promise<void> {
  const sink = await openNodeFileSink(path);
  const writer = new SafetensorsStreamWriter(sink, shard.tensors, metadata, path);
  try {
    for (const t of shard.tensors) {
      for (const chunk of randomTensorChunks(seed, t.name, t.dtype, t.shape)) {
        await writer.writeChunk(t.name, chunk);
        done.bytes += chunk.length;
        bar.update(done.bytes);
      }
    }
    await writer.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

export async function run(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args,
      options: {
        config: { type: "string" },
        out: { type: "string" },
        seed: { type: "string", default: "0" },
        dtype: { type: "string" },
        tiny: { type: "boolean", default: false },
        "shard-bytes": { type: "string" },
        quiet: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    console.error(`make-random: ${(e as Error).message}\n${MAKE_RANDOM_USAGE}`);
    return 2;
  }
  const seed = Number(opts.seed);
  const shardBytes = opts["shard-bytes"] === undefined ? DEFAULT_SHARD_BYTES : Number(opts["shard-bytes"]);
  const usage = (msg: string) => (console.error(`make-random: ${msg}\n${MAKE_RANDOM_USAGE}`), 2);
  if (!opts.config || !opts.out) return usage("--config and --out are required");
  if (!Number.isSafeInteger(seed) || seed < 0) return usage(`--seed expects a non-negative integer, got ${opts.seed}`);
  if (!Number.isSafeInteger(shardBytes) || shardBytes <= 0) return usage(`--shard-bytes expects a positive integer, got ${opts["shard-bytes"]}`);
  if (opts.dtype !== undefined && !(opts.dtype in DTYPE_FLAG)) return usage(`--dtype expects f16, f32 or bf16, got ${opts.dtype}`);
  const dtype = opts.dtype ? DTYPE_FLAG[opts.dtype] : undefined;
  const variant = dtype === "F16" ? "fp16" : undefined;
  try {
    const plan = planCheckpoint(opts.config);
    for (const c of plan.withoutIndex) {
      console.error(`make-random: component "${c}" has a config but no tensors.json: config copied, no weights written`);
    }
    if (!plan.components.length) {
      console.error(`make-random: no tensors.json under ${opts.config}: nothing to fill (names and shapes come from the tensor index)`);
      return 1;
    }
    for (const f of plan.copies) {
      await mkdir(dirname(join(opts.out, f)), { recursive: true });
      // Read and write rather than copyFile, so read-only sources do not give read-only copies.
      await writeFile(join(opts.out, f), await readFile(join(plan.root, f)));
    }
    for (const c of plan.components) {
      const tensors = c.tensors.map((t) => ({
        name: t.name,
        dtype: dtype && FLOAT_DTYPES.has(t.dtype) ? dtype : t.dtype,
        shape: opts.tiny ? t.shape.map((d) => Math.min(d, TINY_MAX_DIM)) : t.shape,
      }));
      const metadata: Record<string, string> = { format: "pt", qsched_random_seed: String(seed) };
      if (opts.tiny) metadata.qsched_tiny_max_dim = String(TINY_MAX_DIM);
      const groups = splitShards(tensors, shardBytes);
      const names = shardNames(c.stem, variant, groups.length);
      const total = tensors.reduce((s, t) => s + tensorByteLength(t.dtype, t.shape), 0);
      const dir = join(opts.out, c.dir);
      await mkdir(dir, { recursive: true });
      // Weights left by an earlier run (another seed, sharding or dtype) would be found beside or instead of these.
      for (const f of await readdir(dir)) if (WEIGHT_FILE.test(f)) await rm(join(dir, f), { force: true });
      const bar = new ProgressBar(c.dir || ".", total, opts.quiet);
      const done = { bytes: 0 };
      const weightMap: Record<string, string> = {};
      for (let i = 0; i < groups.length; i++) {
        const shard = { file: names.shards[i]!, tensors: groups[i]! };
        for (const t of shard.tensors) weightMap[t.name] = shard.file;
        await writeShard(join(dir, shard.file), shard, seed, metadata, bar, done);
      }
      if (names.index) {
        await writeFile(join(dir, names.index), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
      }
      if (!opts.quiet) {
        console.log(`${c.dir || "."}: ${tensors.length} tensors, ${formatBytes(total)} in ${names.shards.length} file(s): ${names.shards.join(", ")}${names.index ? ` + ${names.index}` : ""}`);
      }
    }
    return 0;
  } catch (e) {
    console.error(`make-random: ${(e as Error).message}`);
    return 1;
  }
}

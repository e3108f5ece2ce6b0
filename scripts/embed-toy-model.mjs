#!/usr/bin/env node
// Copies the toy-shapes pipeline (../shared/toy-shapes) into models/toy-shapes, the embedded default
// model, bit for bit: weight files over SHARD_BYTES are split into diffusers shards
// (`*.safetensors.index.json` + `-0000i-of-0000n.safetensors`) so no file in git exceeds 2 MB.
// The CLIP scorer ships without its text tower (identical to pipeline/text_encoder, per the model card).
import { fileURLToPath } from "node:url";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";

const SHARD_BYTES = 1_900_000;
const root = fileURLToPath(new URL("../", import.meta.url));
const src = process.argv[2] ?? join(root, "../shared/toy-shapes");
const dst = join(root, "models/toy-shapes");

function readSt(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const meta = header.__metadata__;
  delete header.__metadata__;
  const tensors = Object.entries(header).map(([name, e]) => ({ name, ...e, data: buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) }));
  return { meta, tensors };
}

function writeSt(path, tensors, meta) {
  const header = {};
  if (meta) header.__metadata__ = meta;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  let json = Buffer.from(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...tensors.map((t) => t.data)]));
}

function shardWeights(from, toDir, stem, keep = () => true) {
  const { meta, tensors } = readSt(from);
  const kept = tensors.filter((t) => keep(t.name));
  const total = kept.reduce((a, t) => a + t.data.length, 0);
  if (total <= SHARD_BYTES) return writeSt(join(toDir, `${stem}.safetensors`), kept, meta);
  const shards = [[]];
  let size = 0;
  for (const t of kept) {
    if (size + t.data.length > SHARD_BYTES && shards.at(-1).length) {
      shards.push([]);
      size = 0;
    }
    // A tensor larger than a shard is split by rows into "<name>" pieces? No: diffusers cannot load
    // split tensors, so a big tensor gets a shard of its own (still under 2 MB only if it fits).
    shards.at(-1).push(t);
    size += t.data.length;
  }
  const n = shards.length;
  const weightMap = {};
  shards.forEach((ts, i) => {
    const file = `${stem}-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    writeSt(join(toDir, file), ts, meta);
    for (const t of ts) weightMap[t.name] = file;
  });
  writeFileSync(join(toDir, `${stem}.safetensors.index.json`), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 1));
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const p = join(from, name);
    if (statSync(p).isDirectory()) copyTree(p, join(to, name));
    else if (name.endsWith(".safetensors")) shardWeights(p, to, name.replace(/\.safetensors$/, ""));
    else copyFileSync(p, join(to, name));
  }
}

const EMBEDDED_LAYOUT_NOTE = `> **This copy** (\`models/toy-shapes/\` of qsched-gpu, made by \`scripts/embed-toy-model.mjs\`) is laid out for loading,
> not as the folders below: the pipeline sits at this folder's root (\`model_index.json\`, \`unet/\`, \`vae/\`,
> \`text_encoder/\`, \`tokenizer/\`, \`scheduler/\`; weights in diffusers shards), \`clip-scorer/\` holds the CLIP's vision
> tower and projections only (\`config.json\`, \`preprocessor_config.json\`; the scorer borrows the pipeline's text
> encoder and tokenizer, which are the CLIP's), and \`landscapes/\` is as below. \`samples/\` and the training tools are
> not copied (16.4 MB in all). The text below is the reference set's card, unchanged.

`;

copyTree(join(src, "pipeline"), dst);
// The reference set's card, after a note on how this copy is laid out (its table describes the reference folders).
const [title, ...rest] = readFileSync(join(src, "README.md"), "utf8").split("\n");
writeFileSync(join(dst, "MODEL_CARD.md"), [title, "", EMBEDDED_LAYOUT_NOTE.trimEnd(), ...rest].join("\n"));
const clipDst = join(dst, "clip-scorer");
mkdirSync(clipDst, { recursive: true });
for (const f of ["config.json", "preprocessor_config.json"]) copyFileSync(join(src, "clip", f), join(clipDst, f));
shardWeights(join(src, "clip/model.safetensors"), clipDst, "model", (name) => !name.startsWith("text_model."));
mkdirSync(join(dst, "landscapes"), { recursive: true });
for (const f of readdirSync(join(src, "landscapes"))) copyFileSync(join(src, "landscapes", f), join(dst, "landscapes", f));
console.log(`embedded toy-shapes into ${dst}`);
void dirname;

import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goldenFolders, fullGoldenDir } from "../helpers/golden.ts";
import { loadQuantCases } from "./golden-cases.ts";
import { formatForFixtureScheme, QUANT_FORMATS } from "../../src/quant/formats.ts";
import { quantizedLinearReference } from "../../src/quant/linear.ts";
import { uploadQuantizedWeight } from "../../src/ops/quant-weight.ts";
import { dequantizePacked } from "../../src/quant/packing.ts";
import { openPack, readPack, tensorFileSource, writePack, type TensorSource } from "../../src/quant/pack.ts";
import { planPack } from "../../src/quant/pack-format.ts";
import { parsePolicy } from "../../src/quant/policy.ts";
import { openTensorFile } from "../../src/quant/tensor-file.ts";
import { bitExact } from "../../src/verify/compare.ts";
import { encodeSafetensors } from "../../src/weights/safetensors/index.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "qpack-"));

function memorySource(tensors: Record<string, { shape: number[]; data: Float32Array }>): TensorSource {
  return {
    specs: Object.entries(tensors).map(([name, t]) => ({ name, dtype: "F32" as const, shape: t.shape })),
    read: (name) => new Uint8Array(tensors[name]!.data.buffer.slice(0)),
  };
}

for (const { label, dir } of goldenFolders("quant")) {
  describe(`pack round trip vs golden dequantized weights (${label})`, () => {
    for (const c of loadQuantCases(dir)) {
      it(c.name, () => {
        const f = formatForFixtureScheme(c.scheme);
        const out = join(tmp(), "p.safetensors");
        const bias = c.file.f32("bias");
        writePack(out, memorySource({ "lin.weight": { shape: [c.n, c.k], data: c.file.f32("W") }, "lin.bias": { shape: [c.n], data: bias } }), {
          scheme: f.scheme,
          groupSize: f.defaultGroupSize === "per-channel" ? "per-channel" : c.groupSize,
          policy: parsePolicy("torchao"),
          sourceModel: "golden/quant",
          component: c.name,
        });
        const pack = readPack(out);
        expect(pack.info.scheme).toBe(f.scheme);
        expect([...pack.quantized.keys()]).toEqual(["lin.weight"]);
        const w = pack.quantized.get("lin.weight")!;
        expect(w.words).toBeInstanceOf(Uint32Array);
        expect(bitExact(dequantizePacked(w), c.file.f32("W_deq"))).toBe(true);
        const b = pack.floats.get("lin.bias")!;
        expect(b.dtype).toBe("F32");
        expect(bitExact(new Float32Array(b.bytes.slice().buffer), bias)).toBe(true);
      });
    }
  });
}

describe("pack policies", () => {
  const golden = fullGoldenDir();
  // The tiny pipelines live only in the full oracle: registered where it exists (as goldenFolders does), never skipped.
  const pipelines = golden ? ["tiny-sd-turbo", "tiny-lcm-sd15", "tiny-sdxl-turbo"] : [];
  for (const model of pipelines) {
    for (const scheme of ["W8A8", "W4A8"] as const) {
      it(`torchao policy selects exactly torchao's quantized_modules (${model} UNet, ${scheme})`, () => {
        const file = openTensorFile(join(golden!, model, "unet/diffusion_pytorch_model.safetensors"));
        const plan = planPack(tensorFileSource(file).specs, { scheme, policy: parsePolicy("torchao"), sourceModel: model, component: "unet" });
        file.close();
        const manifest = JSON.parse(readFileSync(join(golden!, model, `activations-${scheme.toLowerCase()}/manifest.json`), "utf8")) as { quantized_modules: string[] };
        const selected = Object.keys(plan.info.layout).map((n) => n.replace(/\.weight$/, "")).sort();
        expect(selected).toEqual([...manifest.quantized_modules].sort());
      });
    }
  }

  it("policy rules: torchao skips convs, embeddings and the scheme's in_features rule; all flattens convs", () => {
    const specs = [
      { name: "a.to_q.weight", dtype: "F32" as const, shape: [8, 16] },
      { name: "a.ff.weight", dtype: "F32" as const, shape: [8, 48] },
      { name: "a.conv1.weight", dtype: "F32" as const, shape: [8, 16, 3, 3] },
      { name: "conv_in.weight", dtype: "F32" as const, shape: [8, 4, 3, 3] },
      { name: "emb.token_embedding.weight", dtype: "F32" as const, shape: [100, 64] },
      { name: "a.norm1.weight", dtype: "F32" as const, shape: [8] },
      { name: "a.ff.bias", dtype: "F32" as const, shape: [8] },
    ];
    const opts = { policy: parsePolicy("torchao"), sourceModel: "m", component: "unet" };
    expect(Object.keys(planPack(specs, { ...opts, scheme: "W8A8" }).info.layout)).toEqual(["a.ff.weight"]); // 16 ≤ 16 skipped
    expect(Object.keys(planPack(specs, { ...opts, scheme: "W4A8" }).info.layout)).toEqual([]); // 16 and 48 not divisible by 32
    expect(Object.keys(planPack(specs, { ...opts, scheme: "W4A8", groupSize: 32 }).info.layout)).toEqual([]);
    // "all" at 8 bits takes linears and the 3×3 conv; conv_in, the embedding table and norms stay float.
    const all = planPack(specs, { ...opts, policy: parsePolicy("all"), scheme: "W8A8" });
    expect(Object.keys(all.info.layout)).toEqual(["a.to_q.weight", "a.ff.weight", "a.conv1.weight"]);
  });

  it("all policy: convs flattened to [Cout, Cin·kh·kw], float-kept list respected, skip reasons recorded", () => {
    const specs = [
      { name: "down.conv1.weight", dtype: "F32" as const, shape: [8, 32, 3, 3] },
      { name: "conv_in.weight", dtype: "F32" as const, shape: [8, 32, 3, 3] },
      { name: "down.norm1.weight", dtype: "F32" as const, shape: [8] },
      { name: "down.proj.weight", dtype: "F16" as const, shape: [8, 64] },
      { name: "down.odd.weight", dtype: "F32" as const, shape: [8, 16, 3, 3] },
    ];
    const plan = planPack(specs, { scheme: "W4A8", policy: parsePolicy("all"), sourceModel: "m", component: "unet" });
    expect(plan.info.layout["down.conv1.weight"]).toMatchObject({ shape: [8, 32, 3, 3], n: 8, k: 288, group_size: 32 });
    expect(Object.keys(plan.info.layout).sort()).toEqual(["down.conv1.weight", "down.proj.weight"]);
    expect(plan.skipped.get("conv_in.weight")).toMatch(/float-kept/);
    expect(plan.skipped.get("down.odd.weight")).toMatch(/144 not divisible by group_size 32/);
    expect(plan.outputs.find((o) => o.name === "down.conv1.weight.qcodes")).toEqual({ name: "down.conv1.weight.qcodes", dtype: "U32", shape: [8, 36] });
  });
});

describe("pack reader errors", () => {
  it("refuses a plain safetensors file with a message naming the missing version", () => {
    const p = join(tmp(), "plain.safetensors");
    writeFileSync(p, encodeSafetensors({ x: { dtype: "F32", shape: [1], data: new Float32Array([1]) } }));
    expect(() => openPack(p)).toThrow(/qsched_pack_version is undefined, expected "1"/);
  });
  it("refuses a pack whose codes tensor has the wrong shape", () => {
    const dir = tmp();
    const good = join(dir, "good.safetensors");
    writePack(good, memorySource({ "l.weight": { shape: [2, 32], data: new Float32Array(64).fill(0.5) } }), {
      scheme: "W4A8", policy: parsePolicy("torchao"), sourceModel: "m", component: "c",
    });
    const src = openPack(good);
    const meta = { ...openTensorFile(good).metadata };
    src.close();
    const bad = join(dir, "bad.safetensors");
    writeFileSync(bad, encodeSafetensors({
      "l.weight.qcodes": { dtype: "U32", shape: [2, 3], data: new Uint32Array(6) },
      "l.weight.qscales": { dtype: "F32", shape: [2, 1], data: new Float32Array(2) },
    }, meta));
    expect(() => readPack(bad)).toThrow(/"l.weight.qcodes" of "l.weight" is U32 \[2,3\], layout expects U32 \[2,4\]/);
  });

  /** A W4A8 pack of one [2, 32] weight plus a float tensor; returns its metadata and a writer of edited copies. */
  function packWithEditedLayout() {
    const dir = tmp();
    const good = join(dir, "good.safetensors");
    writePack(good, memorySource({ "l.weight": { shape: [2, 32], data: new Float32Array(64).fill(0.5) }, "l.bias": { shape: [2], data: new Float32Array(2) } }), {
      scheme: "W4A8", policy: parsePolicy("torchao"), sourceModel: "m", component: "c",
    });
    const file = openTensorFile(good);
    const meta = { ...file.metadata };
    const tensors = Object.fromEntries(file.entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape], data: file.read(e.name) }]));
    file.close();
    const layout = JSON.parse(meta.qsched_layout!) as Record<string, Record<string, unknown>>;
    /** `edit` changes a copy of the layout in place, or replaces it when it returns something. */
    return (edit: (l: Record<string, Record<string, unknown>>) => unknown) => {
      const p = join(dir, `edited-${Math.random().toString(36).slice(2)}.safetensors`);
      const copy = structuredClone(layout);
      const replaced = edit(copy);
      writeFileSync(p, encodeSafetensors(tensors, { ...meta, qsched_layout: JSON.stringify(replaced === undefined ? copy : replaced) }));
      return p;
    };
  }

  it("refuses a layout of the wrong structure with a message naming the entry and the field", () => {
    const edited = packWithEditedLayout();
    expect(() => openPack(edited(() => null))).toThrow(/qsched_layout must be a JSON object of tensor layouts, found null/);
    expect(() => openPack(edited((l) => void delete l["l.weight"]!.shape))).toThrow(/qsched_layout\["l.weight"\] needs shape/);
    expect(() => openPack(edited((l) => void (l["l.weight"]!.group_size = 0)))).toThrow(/needs group_size: a positive integer/);
    expect(() => openPack(edited((l) => void (l["l.weight"]!.group_size = 24)))).toThrow(/needs group_size to divide k/);
    expect(() => openPack(edited((l) => void (l["l.weight"]!.codes = 7)))).toThrow(/needs codes: a tensor name/);
  });

  it("refuses a layout that claims a stored float tensor or another weight's codes, instead of dropping tensors", () => {
    const edited = packWithEditedLayout();
    expect(() => readPack(edited((l) => void (l["l.bias"] = { ...l["l.weight"]! })))).toThrow(/"l.bias" is both a stored tensor and a quantized weight/);
    expect(() => readPack(edited((l) => void (l["l.other"] = { ...l["l.weight"]! })))).toThrow(/tensor "l.weight.qcodes" is claimed twice/);
  });

  it("refuses group sizes its scheme does not produce: the int8 kernels read one scale per row (a grouped W8A8 weight ran 95 % wrong)", () => {
    const edited = packWithEditedLayout();
    expect(() => readPack(edited((l) => void (l["l.weight"]!.group_size = 16)))).toThrow(/"l\.weight" has group_size 16, but this W4A8 pack's qsched_group_size 32 means 32 for K = 32/);
    // A W8A8 pack: per-channel, so a layout's group_size must be K.
    const dir = tmp();
    const w8 = join(dir, "w8a8.safetensors");
    writePack(w8, memorySource({ "l.weight": { shape: [2, 64], data: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)) } }), {
      scheme: "W8A8", policy: parsePolicy("torchao"), sourceModel: "m", component: "c",
    });
    const file = openTensorFile(w8);
    const meta = { ...file.metadata };
    const tensors = Object.fromEntries(file.entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape], data: file.read(e.name) }]));
    file.close();
    const layout = JSON.parse(meta.qsched_layout!) as Record<string, Record<string, unknown>>;
    layout["l.weight"]!.group_size = 32;
    tensors["l.weight.qscales"] = { dtype: "F32", shape: [2, 2], data: new Uint8Array(new Float32Array([0.01, 0.01, 0.01, 0.01]).buffer) };
    const grouped = join(dir, "grouped.safetensors");
    writeFileSync(grouped, encodeSafetensors(tensors, { ...meta, qsched_layout: JSON.stringify(layout) }));
    expect(() => readPack(grouped)).toThrow(/"l\.weight" has group_size 32, but this W8A8 pack's qsched_group_size per-channel means 64 for K = 64/);
    const wrongMeta = join(dir, "meta.safetensors");
    writeFileSync(wrongMeta, encodeSafetensors(tensors, { ...meta, qsched_group_size: "32", qsched_layout: JSON.stringify(layout) }));
    expect(() => readPack(wrongMeta)).toThrow(/qsched_group_size 32 is not one of W8A8's \(per-channel\)/);
    // The same weight handed to the op or the CPU reference directly.
    const packed = { format: QUANT_FORMATS.W8A8, n: 2, k: 64, groupSize: 32, words: new Uint32Array(32), scales: new Float32Array(4).fill(0.01), zeroPoints: null };
    expect(() => uploadQuantizedWeight(undefined as never, packed)).toThrow(/W8A8 weights have one scale per output row \(group size = K = 64\), found group size 32/);
    expect(() => quantizedLinearReference(new Float32Array(64), packed, null)).toThrow(/found group size 32/);
  });

  it("a NaN weight is refused naming the tensor", () => {
    const data = new Float32Array(64).fill(0.5);
    data[37] = NaN;
    const out = join(tmp(), "nan.safetensors");
    expect(() => writePack(out, memorySource({ "blocks.0.to_q.weight": { shape: [2, 32], data } }), { scheme: "W4A8", policy: parsePolicy("all"), sourceModel: "m", component: "c" }))
      .toThrow(/quantizing "blocks\.0\.to_q\.weight" to W4A8: .*row 1, group 0 .*NaN/);
  });

  it("refuses damaged scales and zero points instead of running a wrong layer", () => {
    const dir = tmp();
    const good = join(dir, "w4a16.safetensors");
    writePack(good, memorySource({ "l.weight": { shape: [2, 32], data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)) } }), {
      scheme: "W4A16", policy: parsePolicy("all"), sourceModel: "m", component: "c", groupSize: 32,
    });
    const file = openTensorFile(good);
    const meta = { ...file.metadata };
    const tensors = Object.fromEntries(file.entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape], data: file.read(e.name) }]));
    file.close();
    expect(readPack(good).quantized.size).toBe(1);
    const withValue = (tensor: string, v: number) => {
      const data = new Float32Array(tensors[tensor]!.data.slice().buffer);
      data[1] = v;
      const p = join(dir, `bad-${Math.random().toString(36).slice(2)}.safetensors`);
      writeFileSync(p, encodeSafetensors({ ...tensors, [tensor]: { ...tensors[tensor]!, data: new Uint8Array(data.buffer) } }, meta));
      return p;
    };
    for (const v of [0, -0.5, NaN, Infinity]) {
      expect(() => readPack(withValue("l.weight.qscales", v)), `scale ${v}`).toThrow(new RegExp(`"l\\.weight\\.qscales" of "l\\.weight": scale ${v} at row 1, group 0 is not a finite number ≥ 9\\.99999`));
    }
    expect(() => readPack(withValue("l.weight.qzeros", NaN))).toThrow(/zero point NaN at row 1 is not finite/);
  });

  it("reads float tensors named like Object.prototype members", () => {
    const out = join(tmp(), "proto.safetensors");
    writePack(out, memorySource({ constructor: { shape: [3], data: new Float32Array([1, 2, 3]) }, toString: { shape: [1], data: new Float32Array([4]) } }), {
      scheme: "W4A8", policy: parsePolicy("torchao"), sourceModel: "m", component: "c",
    });
    expect([...readPack(out).floats.keys()]).toEqual(["constructor", "toString"]);
  });

  it("a pack that fails half-way leaves no file and keeps the pack that was there", () => {
    const dir = tmp();
    const out = join(dir, "p.safetensors");
    const opts = { scheme: "W4A8" as const, policy: parsePolicy("torchao"), sourceModel: "m", component: "c" };
    writePack(out, memorySource({ "a.weight": { shape: [2, 32], data: new Float32Array(64).fill(1) } }), opts);
    const before = readFileSync(out);
    const failing: TensorSource = {
      specs: [{ name: "a.weight", dtype: "F32", shape: [2, 32] }, { name: "b.weight", dtype: "F32", shape: [2, 32] }],
      read: (name) => {
        if (name === "b.weight") throw new Error("disk error");
        return new Uint8Array(new Float32Array(64).fill(2).buffer);
      },
    };
    expect(() => writePack(out, failing, opts)).toThrow(/disk error/);
    expect(readdirSync(dir)).toEqual(["p.safetensors"]);
    expect(readFileSync(out).equals(before)).toBe(true);
  });
});

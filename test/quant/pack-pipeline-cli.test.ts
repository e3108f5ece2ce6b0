/**
 * `weights-tools pack-pipeline` on the embedded toy model (no GPU): layout written, exit codes, never a
 * half-written or clobbered --out folder.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPack } from "../../src/quant/pack.ts";
import { packFilePath } from "../../src/quant/packed-pipeline.ts";
import { parseCoefficientFile, serializeCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { main } from "../../weights-tools/cli.ts";
import { openLazyPack } from "../../src/quant/pack-reader.ts";
import { findComponentPack } from "../../src/quant/packed-pipeline.ts";
import { fileListSource } from "../../src/weights/sources/file-list-source.ts";
import { REPO_ROOT } from "../helpers/golden.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const dir = mkdtempSync(join(tmpdir(), "qsched-pack-cli-"));
let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const coeffs = (quant?: string) => {
  const p = join(dir, `coeffs-${quant ?? "none"}.json`);
  writeFileSync(p, serializeCoefficientFile({ model: "toy", steps: 4, qsched: { scheme: "linear", m: 1.1, s: 1.07 }, ...(quant ? { quant } : {}) }));
  return p;
};
/** Entries of `dir` other than the test's own files (a leftover partial folder would show here). */
const leftovers = () => readdirSync(dir).filter((n) => n.startsWith("."));

describe("weights-tools pack-pipeline", () => {
  it("writes the toy as a packed pipeline: unet pack (with its config recorded) instead of float shards, everything else copied, qsched.json stamped with the scheme", async () => {
    const out = join(dir, "w4a8");
    expect(await main(["pack-pipeline", TOY, "--scheme", "w4a8", "--qsched", coeffs(), "--out", out, "--quiet"])).toBe(0);
    expect(lines.at(-1)).toMatch(/^unet W4A8 .*policy torchao\): 58 tensors quantized, 150 kept float; 5\.01 MB → 3\.60 MB; folder .* with qsched\.json/);
    expect(readdirSync(join(out, "unet")).sort()).toEqual(["config.json", "diffusion_pytorch_model.qpack.safetensors"]);
    for (const f of ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "text_encoder/model.safetensors.index.json", "vae/diffusion_pytorch_model.safetensors", "unet/config.json"]) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(TOY, f)))).toBe(true);
    }
    const pack = readPack(join(out, packFilePath("unet")));
    expect(pack.info).toMatchObject({ scheme: "W4A8", policy: "torchao", sourceModel: "toy-shapes", component: "unet" });
    expect(pack.info.componentConfig).toEqual(JSON.parse(readFileSync(join(TOY, "unet/config.json"), "utf8")));
    expect(parseCoefficientFile(readFileSync(join(out, "qsched.json"), "utf8"))).toMatchObject({ quant: "W4A8", qsched: { m: 1.1, s: 1.07 } });
    expect(leftovers()).toEqual([]);

    // The browser path: files the user picked (a FileList of the folder), read lazily as Blobs.
    const files = ["model_index.json", "unet/config.json", packFilePath("unet")].map((f) => new File([readFileSync(join(out, f))], f));
    const picked = fileListSource(files);
    const found = await findComponentPack(picked, "unet");
    expect(found).toBe(packFilePath("unet"));
    const lazy = await openLazyPack(await picked.open(found!), picked.locate(found!));
    expect([...lazy.names].sort()).toEqual([...pack.quantized.keys(), ...pack.floats.keys()].sort());
    const name = [...pack.quantized.keys()][0]!;
    expect([...(await lazy.readQuantized(name)).words]).toEqual([...pack.quantized.get(name)!.words]);
    await lazy.close();
  });

  it("refuses a non-empty --out without --force (exit 1, folder untouched) and replaces it with --force", async () => {
    const out = join(dir, "existing");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "mine");
    expect(await main(["pack-pipeline", TOY, "--scheme", "w8a8", "--out", out, "--quiet"])).toBe(1);
    expect(lines.join("\n")).toMatch(/exists and is not an empty folder; pass --force to replace it/);
    expect(readdirSync(out)).toEqual(["keep.txt"]);
    expect(await main(["pack-pipeline", TOY, "--scheme", "w8a8", "--out", out, "--force", "--quiet"])).toBe(0);
    expect(existsSync(join(out, "keep.txt"))).toBe(false);
    expect(readPack(join(out, packFilePath("unet"))).info.scheme).toBe("W8A8");
    // An empty folder is fine without --force.
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expect(await main(["pack-pipeline", TOY, "--scheme", "w8a8", "--policy", "all", "--out", empty, "--quiet"])).toBe(0);
    expect(readPack(join(empty, packFilePath("unet"))).info.policy).toBe("all");
  });

  it("fails (exit 1) without leaving --out or a partial folder: coefficients for another scheme, a folder without UNet weights", async () => {
    const out = join(dir, "never");
    expect(await main(["pack-pipeline", TOY, "--scheme", "w8a8", "--qsched", coeffs("W4A8"), "--out", out, "--quiet"])).toBe(1);
    expect(lines.join("\n")).toMatch(/coeffs-W4A8\.json was calibrated for W4A8, not W8A8/);
    // A packed folder has no float UNet weights to pack: fails after copying started, cleans up.
    const packed = join(dir, "w4a8");
    expect(await main(["pack-pipeline", packed, "--scheme", "w8a8", "--out", out, "--quiet"])).toBe(1);
    expect(lines.join("\n")).toMatch(/unet.*no weights/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it("usage errors exit 2; --out inside the source is refused", async () => {
    expect(await main(["pack-pipeline", TOY, "--scheme", "w4a9", "--out", join(dir, "x")])).toBe(2);
    expect(await main(["pack-pipeline", TOY, "--out", join(dir, "x")])).toBe(2);
    expect(await main(["pack-pipeline", TOY, "--scheme", "w4a8", "--out", join(dir, "x"), "--bogus"])).toBe(2);
    expect(await main(["pack-pipeline", TOY, "--scheme", "w4a8", "--out", join(TOY, "packed")])).toBe(1);
    expect(lines.join("\n")).toMatch(/must lie outside the source folder/);
    expect(existsSync(join(TOY, "packed"))).toBe(false);
  });
});

describe("weights-tools with sources and outputs users give (session 18 review)", () => {
  it("pack-pipeline through a symlinked source writes a real copy and never touches or deletes the source", async () => {
    const { cpSync, lstatSync, symlinkSync } = await import("node:fs");
    const real = join(dir, "real-src");
    cpSync(TOY, real, { recursive: true });
    const link = join(dir, "link-src");
    symlinkSync(real, link);
    const before = readdirSync(join(real, "unet")).sort();
    const out = join(dir, "from-link");
    expect(await main(["pack-pipeline", link, "--scheme", "w8a8", "--out", out, "--quiet"])).toBe(0);
    expect(lstatSync(out).isSymbolicLink()).toBe(false); // before: a link to the source, with the pack written into it
    expect(readdirSync(join(real, "unet")).sort()).toEqual(before);
    // --out naming the source (through its link) is refused even with --force: before, --force deleted the source.
    expect(await main(["pack-pipeline", link, "--scheme", "w8a8", "--out", real, "--force", "--quiet"])).toBe(1);
    expect(lines.join("\n")).toMatch(/must lie outside the source folder/);
    expect(readdirSync(join(real, "unet")).sort()).toEqual(before);
  });

  it("quantize refuses to write over a source weight file, and over an existing file without --force", async () => {
    const { cpSync, statSync } = await import("node:fs");
    const src = join(dir, "quant-src");
    cpSync(TOY, src, { recursive: true });
    const shards = readdirSync(join(src, "unet")).filter((f) => f.endsWith(".safetensors"));
    const target = join(src, "unet", shards[0]!);
    const size = statSync(target).size;
    expect(await main(["quantize", src, "--component", "unet", "--scheme", "w8a8", "--out", target])).toBe(1);
    expect(lines.join("\n")).toMatch(/is one of the source's weight files/);
    expect(statSync(target).size).toBe(size);
    const out = join(dir, "unet-w8a8.safetensors");
    writeFileSync(out, "keep me");
    expect(await main(["quantize", src, "--component", "unet", "--scheme", "w8a8", "--out", out])).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("keep me");
    expect(await main(["quantize", src, "--component", "unet", "--scheme", "w8a8", "--out", out, "--force"])).toBe(0);
    expect(readPack(out).quantized.size).toBeGreaterThan(0);
  });

  it("quantize checks a shard index as the loader does: a tensor the index lists but no shard holds is an error", async () => {
    const { cpSync } = await import("node:fs");
    const src = join(dir, "bad-index");
    cpSync(TOY, src, { recursive: true });
    const indexPath = join(src, "unet", readdirSync(join(src, "unet")).find((f) => f.endsWith(".index.json"))!);
    const index = JSON.parse(readFileSync(indexPath, "utf8")) as { weight_map: Record<string, string> };
    index.weight_map["extra.weight"] = Object.values(index.weight_map)[0]!;
    writeFileSync(indexPath, JSON.stringify(index));
    expect(await main(["quantize", src, "--component", "unet", "--scheme", "w8a8", "--out", join(dir, "bad.safetensors")])).toBe(1);
    expect(lines.join("\n")).toMatch(/1 tensor\(s\) in weight_map are in no shard: extra\.weight/);
  });
});

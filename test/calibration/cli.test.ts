import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main, parseCalibrateArgs } from "../../src/cli/calibrate.ts";
import { parseCoefficientFile } from "../../src/scheduler/coefficient-file.ts";
import { bowl, fakeGenerator, fakeScorer } from "./fakes.ts";

function capture() {
  const out = { text: "", write: (s: string) => ((out.text += s), true), isTTY: false };
  return out;
}

describe("qsched-gpu calibrate", () => {
  const dir = mkdtempSync(join(tmpdir(), "qsched-calibrate-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("fails with a clear message while no CLIP scorer is wired", async () => {
    const err = capture();
    let loaded = false;
    const code = await main(["--model", "toy"], { stderr: err, loadGenerator: async () => ((loaded = true), { generate: fakeGenerator() }) });
    expect(code).toBe(1);
    expect(err.text).toMatch(/CLIP scorer not available/);
    expect(loaded).toBe(false); // the pipeline is not loaded for a run that cannot score
  });

  it("rejects bad arguments with usage (exit 2)", async () => {
    for (const argv of [[], ["--model", "x", "--search", "random"], ["--model", "x", "--budget", "0"], ["--model", "x", "--budget", "5"], ["--model", "x", "--search", "grid", "--budget", "80"], ["--model", "x", "--bogus"], ["--model"]]) {
      const err = capture();
      expect(await main(argv, { stderr: err })).toBe(2);
      expect(err.text).toMatch(/usage: qsched-gpu calibrate/);
    }
  });

  it("names the search's minimum when --budget is too small", async () => {
    const err = capture();
    expect(await main(["--model", "x", "--budget", "5"], { stderr: err })).toBe(2);
    expect(err.text).toMatch(/--budget 5 is below the fast search's minimum of 6 generations/);
  });

  it("checks --budget against the prompt count's minimum before loading anything", async () => {
    const prompts = join(dir, "eight.txt");
    writeFileSync(prompts, "a\nb\nc\nd\ne\nf\ng\nh\n");
    const err = capture();
    let loaded = false;
    const deps = { stderr: err, loadScorer: async () => ((loaded = true), fakeScorer(bowl)) };
    expect(await main(["--model", "x", "--prompts", prompts, "--budget", "17"], deps)).toBe(2);
    expect(err.text).toMatch(/--budget 17 is below the fast search's minimum of 18 generations for 8 prompts \(6 candidates screened on 2 of 8 prompts, plus 1 finalist on the other 6\)/);
    expect(loaded).toBe(false);
  });

  it("parses flags with defaults w4a8, 4 steps, fast search", () => {
    expect(parseCalibrateArgs(["calibrate", "--model", "m"])).toMatchObject({ model: "m", quant: "w4a8", steps: 4, search: "fast" });
    expect(parseCalibrateArgs(["--model", "m", "--quant", "w8a8", "--steps", "2", "--search", "grid", "--budget", "81", "--guidance", "2"])).toMatchObject({
      quant: "w8a8", steps: 2, search: "grid", budget: 81, guidance: 2,
    });
    expect(parseCalibrateArgs(["--model", "m"]).policy).toBe("torchao");
    expect(parseCalibrateArgs(["--model", "m", "--policy", "all"]).policy).toBe("all");
    expect(() => parseCalibrateArgs(["--model", "m", "--policy", "convs"])).toThrow(/--policy expects torchao or all, found "convs"/);
  });

  it("writes the coefficient file, heatmap and journal, with a progress line per candidate", async () => {
    const prompts = join(dir, "prompts.txt");
    writeFileSync(prompts, "a red circle\ntwo blue squares\n");
    const out = join(dir, "coeffs.json");
    const png = join(dir, "landscape.png");
    const journal = join(dir, "journal.jsonl");
    const err = capture();
    const deps = { stderr: err, loadScorer: async () => fakeScorer(bowl), loadGenerator: async () => ({ generate: fakeGenerator() }) };
    const argv = ["--model", "toy", "--prompts", prompts, "--out", out, "--heatmap", png, "--journal", journal];
    expect(await main(argv, deps)).toBe(0);
    const file = parseCoefficientFile(readFileSync(out, "utf8"));
    expect(file).toMatchObject({ model: "toy", steps: 4, qsched: { scheme: "linear" }, calibration: { metric: "JAQ" }, quant: "W4A8", policy: "torchao" });
    expect([...readFileSync(png).subarray(1, 4)].map((b) => String.fromCharCode(b)).join("")).toBe("PNG");
    const chunks = readFileSync(journal, "utf8").trim().split("\n").length - 1;
    const progress = err.text.split("\n").filter((l) => l.startsWith("["));
    expect(progress).toHaveLength(chunks); // one line per scored chunk (screening or extension)
    expect(progress[0]).toMatch(/^\[#\.+\] 1\/16 images m=\d\.\d\d s=\d\.\d\d JAQ \d\.\d{4} on 1 prompt ETA \d+s$/);
    expect(progress.at(-1)).toMatch(/ on 2 prompts best /);

    // Same journal again: every candidate replays from it.
    const err2 = capture();
    expect(await main(argv, { ...deps, stderr: err2 })).toBe(0);
    expect(err2.text).toMatch(/0 images generated this run/);

    // Another scorer, or another folder of the same name, is another run: refused, not mixed in.
    const elsewhere = join(dir, "elsewhere", "toy");
    const changed: Array<[string[], RegExp]> = [
      [[...argv, "--clip", join(dir, "other-clip")], /belongs to another run .*"scorer":".*other-clip"/],
      [argv.map((a) => (a === "toy" ? elsewhere : a)), /belongs to another run .*"modelSource":".*elsewhere\/toy"/],
    ];
    for (const [args, message] of changed) {
      const err3 = capture();
      expect(await main(args, { ...deps, stderr: err3 })).toBe(1);
      expect(err3.text).toMatch(message);
    }
  });

  it("prints the coefficient file to stdout without --out and reports an unreadable prompt file", async () => {
    const stdout = capture();
    const deps = { stderr: capture(), stdout, loadScorer: async () => fakeScorer(bowl), loadGenerator: async () => ({ generate: fakeGenerator() }) };
    expect(await main(["--model", "toy"], deps)).toBe(0);
    expect(parseCoefficientFile(stdout.text).model).toBe("toy");
    const err = capture();
    expect(await main(["--model", "toy", "--prompts", join(dir, "missing.txt")], { ...deps, stderr: err })).toBe(1);
    expect(err.text).toMatch(/missing\.txt/);
  });
});

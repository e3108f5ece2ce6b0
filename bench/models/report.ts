/**
 * Turns the per-run JSON files of bench/models/results/ into the table of RESULTS.md (the prose
 * around it — findings, targets — lives in RESULTS.md's hand-written sections, kept between runs).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MODELS } from "./models.ts";
import type { Projection } from "./projected.ts";
import type { BenchResult } from "./run.ts";

const MiB = 2 ** 20;
const BEGIN = "<!-- table:begin -->";
const END = "<!-- table:end -->";

const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function row(r: BenchResult): string {
  const when = r.date ? r.date.slice(0, 16).replace("T", " ") : "—";
  if (r.error) return `| ${r.model} | ${r.quant} | ${when} | — | — | — | — | failed: ${r.error.split("\n")[0]} |`;
  // The first call compiles pipelines; quote the warm calls when there are any.
  // (the profiled call is last; its wall time includes one compute pass per dispatch).
  const calls = r.profiledStepMs !== null ? [...r.stepMs, r.profiledStepMs] : r.stepMs;
  const step = calls.length > 1 ? calls.slice(1) : calls;
  const top = r.kernels.slice(0, 4).map((k) => `${k.label} ${k.percent.toFixed(0)}%`).join(", ");
  return `| ${r.model} ${r.resolution} | ${r.quant}${r.policy === "torchao" ? " (torchao)" : ""} | ${when} | ${gb(r.weightBytes)} (${mib(r.weightBytes)}) | ${gb(r.peakLiveBytes)} (+${mib(r.peakActivationBytes)} activations) | ${(median(step) / 1000).toFixed(1)} s (${calls.length > 1 ? `first ${(calls[0]! / 1000).toFixed(1)} s` : "cold: only call"}) | ${r.dispatchesPerStep} | ${top} |`;
}

function targets(r: BenchResult): string | null {
  const t = MODELS[r.model]?.target;
  if (!t || r.error) return null;
  const ok = (v: number, lim: number) => (v <= lim ? "met" : "NOT met");
  return `- ${r.model} ${r.quant} (${r.policy} policy): weights ${gb(r.weightBytes)} vs ≤ ${gb(t.weightBytes)} → ${ok(r.weightBytes, t.weightBytes)}; peak ${gb(r.peakLiveBytes)} vs ≤ ${gb(t.peakBytes)} → ${ok(r.peakLiveBytes, t.peakBytes)} (the targets are for policy "all", W4A8)`;
}

function kernelTables(rs: BenchResult[]): string {
  return rs
    .filter((r) => !r.error && r.kernels.length)
    .map((r) => {
      const lines = r.kernels.map((k) => `| ${k.label} | ${k.calls} | ${(k.ms / 1000).toFixed(2)} s | ${k.percent.toFixed(1)}% |`);
      return `#### ${r.model} ${r.quant} (profiled step ${((r.profiledStepMs ?? 0) / 1000).toFixed(1)} s wall, ${r.profiledDispatches} timed dispatches, ${r.profilerSource})\n| kernel | calls | time | share |\n|---|---:|---:|---:|\n${lines.join("\n")}`;
    })
    .join("\n\n");
}

/** Weight bytes per policy × format from each checkpoint's shapes (projected.ts). */
function projectionTable(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.startsWith("projected-") && f.endsWith(".json")).sort();
  const lines = files.flatMap((f) => {
    const { model, rows } = JSON.parse(readFileSync(join(dir, f), "utf8")) as { model: string; rows: Projection[] };
    return rows.map((r) => `| ${model} | ${r.policy} | ${r.quant} | ${r.quantizedTensors} | ${gb(r.bytesFloatF32)} | ${gb(r.bytesFloatF16)} |`);
  });
  return `| model | policy | format | quantized tensors | weights (float kept f32, as today) | weights (float kept f16) |\n|---|---|---|---:|---:|---:|\n${lines.join("\n")}`;
}

export function writeReport(dir: string, mdPath: string): void {
  const order = ["sd-turbo", "lcm-sd15", "sdxl-turbo"];
  const quantOrder = ["float", "W8A8", "W4A8"];
  const rs = readdirSync(dir)
    .filter((f) => f.endsWith(".json") && !f.startsWith("projected-") && !f.startsWith("vae-")) // vae-*: vae.ts, reported by hand
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as BenchResult)
    .sort((a, b) => order.indexOf(a.model) - order.indexOf(b.model) || quantOrder.indexOf(a.quant) - quantOrder.indexOf(b.quant));
  const adapters = [...new Set(rs.filter((r) => r.adapter).map((r) => r.adapter))];
  const loads = rs.filter((r) => r.loadAvgEnd).map((r) => `${r.model}/${r.quant}: ${(r.loadAvgStart ?? r.loadAvgEnd).map((x) => x.toFixed(1)).join(" ")} → ${r.loadAvgEnd.map((x) => x.toFixed(1)).join(" ")}`);
  const table = [
    BEGIN,
    `Adapter: ${adapters.join("; ") || "n/a"}`,
    "",
    "| model | precision | run (UTC) | weights on GPU | peak during one UNet call (pool) | UNet step wall time (median of warm calls; first call) | dispatches | top kernels |",
    "|---|---|---|---:|---:|---:|---:|---|",
    ...rs.map(row),
    "",
    `Load average (1/5/15 min) at start → end of each run: ${loads.join("; ")}`,
    "",
    "Targets:",
    ...rs.map(targets).filter((x): x is string => x !== null),
    "",
    "### Weight bytes by policy, from the checkpoint shapes (no GPU; `--projected`)",
    projectionTable(dir),
    "",
    "### Step split by kernel",
    kernelTables(rs),
    END,
  ].join("\n");
  const old = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : `# Full-size UNet benchmark\n\n${BEGIN}\n${END}\n`;
  const [head, rest] = old.split(BEGIN);
  const tail = rest?.split(END)[1] ?? "";
  writeFileSync(mdPath, `${head}${table}${tail}`);
  console.log(table);
}

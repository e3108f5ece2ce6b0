/**
 * The memory table of RESULTS.md (between `<!-- memory:begin -->` and `<!-- memory:end -->`) from
 * bench/models/results/memory/*.json (memory.ts), with issue 7's targets checked per row.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MemoryResult } from "./memory.ts";
import { MODELS } from "./models.ts";

const BEGIN = "<!-- memory:begin -->";
const END = "<!-- memory:end -->";
const gb = (b: number) => `${(b / 1e9).toFixed(3)} GB`;
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;

/** What a UNet step holds in generate(): weights, inputs, and the plan's arena of intermediates. */
export const planTotal = (r: MemoryResult) => r.weightPoolBytes + r.inputBytes + r.plan.arenaBytes;

function row(r: MemoryResult): string {
  const w = r.weights;
  const split = `codes ${mb(w.codes)}, scales ${mb(w.scales + w.zeroPoints)}, float ${mb(w.float)}`;
  return (
    `| ${r.model} | ${r.resolution} | ${r.quant} ${r.policy} | ${r.scales} | ${gb(w.total)} (${split}) | ` +
    `${gb(r.eager.peakLiveBytes)} (+${mb(r.eager.peakLiveBytes - r.weightPoolBytes)}) | ${gb(r.eager.heldBytes)} | ` +
    `${gb(planTotal(r))} (arena ${mb(r.plan.arenaBytes)}) | ${r.mode} | ${r.dispatches} |`
  );
}

function verdict(r: MemoryResult): string | null {
  const t = MODELS[r.model]?.target;
  if (!t || r.quant !== "W4A8" || r.policy !== "all") return null;
  const ok = (v: number, lim: number) => (v <= lim ? "met" : "**NOT met**");
  // The peak a user can see: the largest of an eager call's live peak, what the pool allocated for
  // it (size-class slack included), and the plan-replaying loop's total.
  const peak = Math.max(r.eager.peakLiveBytes, r.eager.heldBytes, planTotal(r));
  return (
    `- ${r.model} ${r.resolution} W4A8 all, ${r.scales} scales: weights ${gb(r.weights.total)} vs ≤ ${gb(t.weightBytes)} → ${ok(r.weights.total, t.weightBytes)}; ` +
    `peak ${gb(peak)} vs ≤ ${gb(t.peakBytes)} → ${ok(peak, t.peakBytes)}`
  );
}

export function memorySection(resultsDir: string): string {
  const dir = join(resultsDir, "memory");
  const rs = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as MemoryResult)
    : [];
  const adapters = [...new Set(rs.map((r) => r.adapter))];
  return [
    BEGIN,
    `Adapter: ${adapters.join("; ")}`,
    "",
    "| model | image | precision, policy | scales | weights on GPU (exact) | eager call: peak live (+ above weights) | eager call: pool held | generate() step: weights + inputs + plan arena | mode | dispatches |",
    "|---|---|---|---|---:|---:|---:|---:|---|---:|",
    ...rs.map(row),
    "",
    "Targets (issue 7, policy all, W4A8; peak = the largest of the eager peak live, the eager pool held and the plan total):",
    ...rs.map(verdict).filter((x): x is string => x !== null),
    END,
  ].join("\n");
}

/** Rewrites the section between the markers (appends it if RESULTS.md has none yet). */
export function writeMemoryReport(resultsDir: string, resultsMd: string): void {
  const section = memorySection(resultsDir);
  const old = existsSync(resultsMd) ? readFileSync(resultsMd, "utf8") : "";
  const [a, b] = [old.indexOf(BEGIN), old.indexOf(END)];
  writeFileSync(resultsMd, a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END.length) : `${old}\n${section}\n`);
}

/**
 * Turns bench rows into the printed table, the target checks and the final one-line JSON summary.
 * Ratios are peer time / our time: above 1 means our kernel is faster. Ratios to peers compare wall
 * time with wall time (each side's own submit + queue drain), because peers have no per-kernel
 * timestamps; our GPU-timestamp µs, GFLOP/s and % of peak are shown beside them.
 */

/** Our time as compared with a peer's: the same clock the peers are timed with. */
const wallUs = (r: Row) => r.timing?.wallUs;
import type { Row } from "./bench.ts";
import type { Peaks } from "./probes.ts";

const fmt = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits));

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

function peerRow(rows: Row[], id: string, backend: "tfjs" | "ort"): Row | undefined {
  return rows.find((r) => r.id === id && r.backend === backend);
}

/** Best (fastest) successful peer time for a case, or undefined. */
export function bestPeerUs(rows: Row[], id: string): { us: number; peer: string } | undefined {
  const peers = rows.filter((r) => r.id === id && r.backend !== "ours" && r.us !== undefined);
  if (!peers.length) return undefined;
  const best = peers.reduce((a, b) => (a.us! <= b.us! ? a : b));
  return { us: best.us!, peer: best.backend };
}

function statusOr(r: Row | undefined, value: string): string {
  if (!r) return "-";
  return r.status === "ok" ? value : r.status;
}

export function formatTable(rows: Row[]): string {
  const header = ["op", "shape", "dtype", "µs", "wall µs", "GFLOP/s", "GB/s", "% peak", "tfjs µs", "×tfjs", "ORT µs", "×ORT"];
  const lines = [header];
  for (const r of rows.filter((x) => x.backend === "ours")) {
    const tf = peerRow(rows, r.id, "tfjs");
    const ort = peerRow(rows, r.id, "ort");
    const ratio = (p?: Row) => (p?.us && wallUs(r) ? fmt(p.us / wallUs(r)!, 2) : "-");
    lines.push([
      r.op,
      r.shape,
      r.dtype,
      statusOr(r, fmt(r.us, 0)),
      fmt(wallUs(r), 0),
      fmt(r.gflops, 2),
      fmt(r.gbs, 2),
      r.fractionOfPeak === undefined ? "-" : `${fmt(r.fractionOfPeak * 100, 0)}% ${r.bound === "compute" ? "FMA" : "copy"}`,
      statusOr(tf, fmt(tf?.us, 0)),
      ratio(tf),
      statusOr(ort, fmt(ort?.us, 0)),
      ratio(ort),
    ]);
  }
  return pad(lines);
}

export interface TargetCheck {
  target: string;
  met: boolean | null;
  evidence: string;
}

/** The issue-4 targets, judged on f32 rows against f32 peers (same precision on both sides). */
export function checkTargets(rows: Row[], peaks: Peaks, hasDot4: boolean): TargetCheck[] {
  const ours = (op: string) => rows.filter((r) => r.backend === "ours" && r.op === op && r.dtype === "f32");
  const checks: TargetCheck[] = [];
  const dense = ours("linear");
  const denseEvidence = dense.map((r) => {
    const best = bestPeerUs(rows, r.id);
    return { r, ratio: best && wallUs(r) ? best.us / wallUs(r)! : undefined, best };
  });
  checks.push({
    target: "dense matmul ≥ best peer on every UNet shape",
    met: denseEvidence.every((e) => e.ratio !== undefined) && denseEvidence.length ? denseEvidence.every((e) => e.ratio! >= 1) : null,
    evidence: denseEvidence.map((e) => `${e.r.shape}: ${fmt(e.ratio, 2)}× ${e.best?.peer ?? "no peer"}`).join("; "),
  });
  const w4 = ours("qlinear").filter((r) => r.shape.includes("W4A16"));
  const w4e = w4.map((r) => {
    const o = peerRow(rows, r.id, "ort");
    return { r, ratio: o?.us && wallUs(r) ? o.us / wallUs(r)! : undefined };
  });
  checks.push({
    target: "int4 linear (W4A16) ≥ ORT MatMulNBits",
    met: w4e.length && w4e.every((e) => e.ratio !== undefined) ? w4e.every((e) => e.ratio! >= 1) : null,
    evidence: w4e.map((e) => `${e.r.shape}: ${fmt(e.ratio, 2)}× ORT`).join("; ") || "no rows",
  });
  const w4a8 = ours("qlinear").filter((r) => r.shape.includes("W4A8"));
  const pairs = w4a8.map((r) => {
    const base = r.id.replace("W4A8", "W4A16");
    const other = rows.find((x) => x.backend === "ours" && x.id === base && x.dtype === r.dtype);
    return { r, ratio: other?.us && r.us ? other.us / r.us : undefined, status: r.status };
  });
  checks.push({
    target: "W4A8 ≥ W4A16 where dot4I8Packed exists",
    met: !hasDot4 ? null : pairs.length && pairs.every((p) => p.ratio !== undefined) ? pairs.every((p) => p.ratio! >= 1) : null,
    evidence: `${hasDot4 ? "packed_4x8_integer_dot_product present" : "no packed_4x8_integer_dot_product"}; ` + (pairs.map((p) => `${p.r.shape}: ${p.ratio === undefined ? p.status : `${fmt(p.ratio, 2)}× W4A16`}`).join("; ") || "no rows"),
  });
  const isLarge = (r: Row) => r.bound === "compute" && (r.shape.split(" ")[0] ?? "").split("x").map(Number).reduce((a, b) => a * b, 1) >= 1e8;
  const large = dense.filter(isLarge);
  // Judged on dense f32 (the float path every adapter has); f16 storage and the quantized linears are listed too.
  const others = rows.filter((r) => r.backend === "ours" && isLarge(r) && !(r.op === "linear" && r.dtype === "f32") && (r.op === "linear" || r.op === "qlinear"));
  const pct = (r: Row) => `${fmt(r.gflops, 1)} GFLOP/s = ${fmt((r.fractionOfPeak ?? NaN) * 100, 0)}%`;
  checks.push({
    target: "large GEMMs ≥ 50% of measured FMA peak",
    met: large.length && large.every((r) => r.fractionOfPeak !== undefined) ? large.every((r) => r.fractionOfPeak! >= 0.5) : null,
    evidence: `FMA peak ${fmt(peaks.fmaGflops, 1)} GFLOP/s; dense f32 ` + large.map((r) => `${r.shape}: ${pct(r)}`).join("; ") +
      (others.length ? `; not judged: ${others.map((r) => `${r.op} ${r.shape} ${r.dtype}: ${pct(r)}`).join("; ")}` : ""),
  });
  return checks;
}

export function formatChecks(checks: TargetCheck[]): string {
  return checks.map((c) => `${c.met === null ? "n/a " : c.met ? "MET " : "NOT "} ${c.target} — ${c.evidence}`).join("\n");
}

/** The last stdout line: each of our kernels' ratio to the best peer (null: no peer or no time). */
export function ratioSummary(adapter: string, rows: Row[]): Record<string, unknown> {
  const ratios: Record<string, number | null> = {};
  for (const r of rows.filter((x) => x.backend === "ours")) {
    const best = bestPeerUs(rows, r.id);
    ratios[`${r.id}/${r.dtype}`] = best && wallUs(r) ? Number((best.us / wallUs(r)!).toFixed(3)) : null;
  }
  return { adapter, ratioToBestPeer: ratios };
}

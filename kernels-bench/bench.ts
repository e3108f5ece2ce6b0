/**
 * Runs the case list on one adapter: our ops per dtype and each peer (f32), timed interleaved with
 * timing.ts. Shared by the Node runner (Dawn, with peers) and the browser page (ours only).
 */
import type { Gpu } from "../src/gpu/runtime.ts";
import { boundBy, bytes, flops, shapeLabel, type BenchCase, type BenchDType, type CaseShape } from "./cases.ts";
import { prepareOurs } from "./ours.ts";
import type { Peaks } from "./probes.ts";
import { timeInterleaved, type PreparedRun, type Timing, type TimingOptions } from "./timing.ts";

export type Backend = "ours" | "tfjs" | "ort";

/** A peer library: `prepare` returns undefined when the peer has no such op (the row says so). */
export interface Peer {
  name: Exclude<Backend, "ours">;
  /** One line: version and how it is timed. */
  describe: string;
  prepare(s: CaseShape): Promise<PreparedRun | undefined>;
}

export interface Row {
  id: string;
  op: CaseShape["op"];
  shape: string;
  where: string;
  backend: Backend;
  dtype: BenchDType;
  status: "ok" | "not implemented" | "no such op" | "error";
  detail?: string;
  timing?: Timing;
  /** The time the row is judged by: GPU timestamps for ours when present, else wall. */
  us?: number;
  gflops?: number;
  gbs?: number;
  bound: "compute" | "memory";
  /** GFLOP/s over the FMA peak (compute-bound) or GB/s over the copy peak (memory-bound). */
  fractionOfPeak?: number;
}

type Measured = Pick<Row, "status" | "detail" | "timing">;

function failure(e: unknown): Measured {
  const msg = (e as Error).message ?? String(e);
  // A peer without the op (or a variant we do not have) says so in its message.
  if (/not implemented/i.test(msg)) return { status: "not implemented", detail: msg.split("\n")[0] };
  return { status: "error", detail: msg.split("\n")[0] };
}

/** One backend's entry for a case: how to prepare it, and what it came to. */
interface Contender {
  backend: Backend;
  dtype: BenchDType;
  prepare: () => Promise<PreparedRun | undefined>;
  run?: PreparedRun;
  result?: Measured;
}

/** Prepares every contender of a case, then times the prepared ones interleaved (timing.ts). */
async function measureCase(contenders: Contender[], opts: TimingOptions): Promise<void> {
  for (const c of contenders) {
    try {
      c.run = await c.prepare();
      if (!c.run) c.result = { status: "no such op" };
    } catch (e) {
      c.result = failure(e);
    }
  }
  const ready = contenders.filter((c) => c.run);
  const timings = await timeInterleaved(ready.map((c) => c.run!), opts);
  ready.forEach((c, i) => {
    const t = timings[i]!;
    c.result = t instanceof Error ? failure(t) : { status: "ok", timing: t };
    c.run!.dispose();
  });
}

function finish(c: BenchCase, backend: Backend, dtype: BenchDType, m: Measured, peaks: Peaks): Row {
  const bound = boundBy(c.shape, dtype);
  const row: Row = { id: c.id, op: c.shape.op, shape: shapeLabel(c.shape), where: c.where, backend, dtype, bound, ...m };
  if (m.timing) {
    row.us = m.timing.gpuUs ?? m.timing.wallUs;
    row.gflops = flops(c.shape) / row.us / 1e3;
    row.gbs = bytes(c.shape, dtype) / row.us / 1e3;
  }
  scoreAgainst([row], peaks);
  return row;
}

/** Sets each row's fraction of the peak its roofline side is judged by (again, when the peaks are re-measured). */
export function scoreAgainst(rows: Row[], peaks: Peaks): void {
  for (const r of rows) {
    if (r.gflops === undefined || r.gbs === undefined) continue;
    r.fractionOfPeak = r.bound === "compute" ? r.gflops / peaks.fmaGflops : r.gbs / peaks.copyGBs;
  }
}

export interface BenchOptions {
  timing: TimingOptions;
  peers: Peer[];
  /** Called after each row (progress on stderr / in the page). */
  onRow?: (r: Row) => void;
  /** Leave our timestamp queries off (`--wall-only`): a run then costs what a user's call costs. */
  wallOnly?: boolean;
}

export async function runBench(gpu: Gpu, cases: BenchCase[], peaks: Peaks, opts: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const push = (r: Row) => {
    rows.push(r);
    opts.onRow?.(r);
  };
  // Consecutive cases of one group are measured as one set of contenders (BenchCase.group).
  const groups: BenchCase[][] = [];
  for (const c of cases) {
    const last = groups.at(-1);
    if (c.group && last?.[0]!.group === c.group) last.push(c);
    else groups.push([c]);
  }
  for (const group of groups) {
    const contenders: (Contender & { c: BenchCase })[] = [];
    for (const c of group) {
      for (const dtype of c.dtypes) {
        if (dtype === "f16" && !gpu.ctx.caps.f16) continue;
        contenders.push({ c, backend: "ours", dtype, prepare: () => prepareOurs(gpu, c.shape, dtype, { gpuTime: !opts.wallOnly }) });
      }
      for (const peer of opts.peers) contenders.push({ c, backend: peer.name, dtype: "f32", prepare: () => peer.prepare(c.shape) });
    }
    await measureCase(contenders, opts.timing);
    for (const k of contenders) push(finish(k.c, k.backend, k.dtype, k.result!, peaks));
  }
  return rows;
}

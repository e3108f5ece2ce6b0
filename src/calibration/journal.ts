/**
 * Calibration journal: JSON lines, a header naming what the run calibrates, then one line per scored chunk of a
 * candidate (prompts [from, to): the fast search screens a candidate on its first prompts and may extend it later),
 * appended as soon as the chunk is scored. Each line keeps every image's CLIPScore pair value and CLIP-IQA, so a
 * candidate's JAQ over any prefix of the prompts can be recomputed. An interrupted run reopened with the same key
 * replays the recorded chunks instead of regenerating them, so at most the chunk in flight is lost. A journal
 * written for another model / scheme / steps / prompt set / seeds / search config is refused rather than mixed in.
 *
 *   {"type":"qsched-calibration-journal","version":2,"key":{...}}
 *   {"m":0.95,"s":0.9,"from":0,"to":2,"pairScores":[63.1,70.2],"clipIqa":[0.71,0.8],"jaq":5.83}
 *
 * Version 1 journals (one whole-set JAQ per candidate, no per-image scores) cannot feed a search that compares
 * candidates on prompt subsets; they are refused with a message saying so.
 */

const HEADER_TYPE = "qsched-calibration-journal";
const VERSION = 2;

/** What a journal belongs to; two runs may share a journal only when every field is equal. */
export interface JournalKey {
  model: string;
  /** Quantization scheme, e.g. "w4a8". */
  scheme: string;
  steps: number;
  /** `hashPrompts(prompts)`: the prompt list itself can be long. */
  promptsHash: string;
  seeds: number[];
  /** Search name and its settings (budget, box, n or resolution) plus anything else that changes scores (k, guidance). */
  search: Record<string, string | number | boolean | null>;
}

/**
 * One journalled chunk: candidate (m, s) scored on prompts [from, to). Per-image values are null where they were not
 * finite (JSON has no NaN); `jaq` is the candidate's JAQ over prompts [0, to), for reading only (null when not finite).
 */
export interface JournalEntry {
  m: number;
  s: number;
  from: number;
  to: number;
  pairScores: Array<number | null>;
  clipIqa: Array<number | null>;
  jaq: number | null;
}

/** A candidate's per-image scores so far (prompts [0, pairScores.length)), NaN where not finite. */
export interface JournalCandidate {
  m: number;
  s: number;
  pairScores: number[];
  clipIqa: number[];
}

/** Where journal lines live: a file (see journal-file.ts) or memory. */
export interface JournalStore {
  /** The whole journal text, or undefined when it does not exist yet. */
  read(): Promise<string | undefined>;
  /** Appends one line (the store adds nothing; callers pass a trailing newline). */
  append(text: string): Promise<void>;
  /** A name for messages (file path, "memory"). */
  readonly name: string;
}

/** In-memory store (browser runs, tests); `text` is the journal so far. */
export class MemoryJournalStore implements JournalStore {
  readonly name = "memory";
  constructor(public text: string | undefined = undefined) {}
  async read(): Promise<string | undefined> {
    return this.text;
  }
  async append(line: string): Promise<void> {
    this.text = (this.text ?? "") + line;
  }
}

/** Refusal to reuse a journal from another calibration; lists the fields that differ. */
export class JournalMismatchError extends Error {
  constructor(store: string, readonly differences: string[]) {
    super(`calibration journal ${store} belongs to another run (${differences.join("; ")}); use another journal file or delete this one`);
    this.name = "JournalMismatchError";
  }
}

/** Stable JSON: object keys sorted, so key comparison does not depend on property order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function keyDifferences(expected: JournalKey, found: JournalKey): string[] {
  const out: string[] = [];
  for (const field of ["model", "scheme", "steps", "promptsHash", "seeds", "search"] as const) {
    const e = canonical(expected[field]);
    const f = canonical(found?.[field]);
    if (e !== f) out.push(`${field}: expected ${e}, found ${f}`);
  }
  return out;
}

/**
 * SHA-256 (first 16 hex digits) of the prompt list as JSON (joined by newlines, ["a\nb", "c"] and ["a", "b\nc"] would
 * share a hash); Web Crypto exists in browsers and Node ≥ 20.
 */
export async function hashPrompts(prompts: readonly string[]): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(prompts)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

function pointId(m: number, s: number): string {
  return `${m.toFixed(9)},${s.toFixed(9)}`;
}

export class CalibrationJournal {
  private readonly byPoint = new Map<string, JournalCandidate>();

  private constructor(
    private readonly store: JournalStore,
    readonly key: JournalKey,
    /** Chunks found when the journal was opened (the resumed part of the run). */
    readonly resumed: readonly JournalEntry[],
  ) {
    for (const e of resumed) this.add(e, true);
  }

  /**
   * Appends a chunk to its candidate; chunks must continue where the candidate's scores end. On opening, a chunk
   * already covered is skipped: a run that resumed after a torn last line (kept, see open) may have scored it again.
   */
  private add(e: JournalEntry, opening = false): void {
    const id = pointId(e.m, e.s);
    const c = this.byPoint.get(id) ?? { m: e.m, s: e.s, pairScores: [], clipIqa: [] };
    if (opening && e.to <= c.pairScores.length) return;
    if (e.from !== c.pairScores.length) {
      throw new Error(`calibration journal ${this.store.name}: candidate (${e.m}, ${e.s}) has prompts [0, ${c.pairScores.length}) recorded, found a chunk for [${e.from}, ${e.to})`);
    }
    c.pairScores.push(...e.pairScores.map((x) => x ?? Number.NaN));
    c.clipIqa.push(...e.clipIqa.map((x) => x ?? Number.NaN));
    this.byPoint.set(id, c);
  }

  /**
   * Opens a journal: writes the header into an empty store, or checks an existing header against `key` and loads
   * its entries. Lines that are not JSON are fragments of a write cut short by a crash (the next open starts a fresh
   * line after them) and are skipped, so that candidate is evaluated again; JSON lines that are not candidates are an
   * error.
   */
  static async open(store: JournalStore, key: JournalKey): Promise<CalibrationJournal> {
    const text = await store.read();
    if (text === undefined || text.trim() === "") {
      await store.append(`${JSON.stringify({ type: HEADER_TYPE, version: VERSION, key })}\n`);
      return new CalibrationJournal(store, key, []);
    }
    const lines = text.split("\n");
    // The header is the first line with text (a file created empty by hand may start with a blank line).
    const first = lines.findIndex((l) => l.trim() !== "");
    let header: { type?: unknown; version?: unknown; key?: JournalKey };
    try {
      header = JSON.parse(lines[first]!);
    } catch {
      throw new Error(`calibration journal ${store.name}: first line is not JSON, expected a "${HEADER_TYPE}" header`);
    }
    if (header.type === HEADER_TYPE && header.version === 1) {
      throw new Error(`calibration journal ${store.name} is version 1 (one whole-set JAQ per candidate); this version needs version ${VERSION} (per-image scores, so candidates can be screened on a subset of the prompts): use another journal file or delete this one`);
    }
    if (header.type !== HEADER_TYPE || header.version !== VERSION) {
      throw new Error(`calibration journal ${store.name}: header must be type "${HEADER_TYPE}" version ${VERSION}, found ${JSON.stringify(header.type)} version ${JSON.stringify(header.version)}`);
    }
    const diffs = keyDifferences(key, header.key as JournalKey);
    if (diffs.length > 0) throw new JournalMismatchError(store.name, diffs);
    const entries: JournalEntry[] = [];
    // split() leaves "" last when the text ends in a newline, else the unterminated tail of a write cut short.
    const tail = lines.length - 1;
    for (let i = first + 1; i <= tail; i++) {
      const line = lines[i]!;
      if (line.trim() === "") continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        continue; // a fragment of a write cut short by a crash (see the note at the top): evaluate it again
      }
      let entry: JournalEntry;
      try {
        entry = parseEntry(raw);
      } catch (e) {
        // A tail that parses but is no entry is a torn line too; a complete line that is no entry is an error.
        if (i === tail) continue;
        throw new Error(`calibration journal ${store.name}: line ${i + 1} is not a valid candidate (${(e as Error).message})`);
      }
      // An unterminated tail that is a whole entry (only its newline was lost) is kept.
      entries.push(entry);
    }
    // Start the next append on a fresh line, so it is not glued to the tail.
    if (!text.endsWith("\n")) await store.append("\n");
    return new CalibrationJournal(store, key, entries);
  }

  /** The recorded scores of (m, s), if this or an earlier run scored it on some prompts. */
  lookup(m: number, s: number): JournalCandidate | undefined {
    return this.byPoint.get(pointId(m, s));
  }

  /** Appends one scored chunk (one write, so a crash loses at most this line). */
  async record(entry: JournalEntry): Promise<void> {
    this.add(entry);
    await this.store.append(`${JSON.stringify(entry)}\n`);
  }

  /** Candidates with at least one recorded chunk. */
  get size(): number {
    return this.byPoint.size;
  }
}

function finiteOrNull(v: unknown, field: string): number | null {
  if (v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`"${field}" must be a finite number or null, found ${JSON.stringify(v)}`);
  return v;
}

function finiteArray(v: unknown, field: string): Array<number | null> {
  if (!Array.isArray(v)) throw new Error(`"${field}" must be an array, found ${JSON.stringify(v)}`);
  return v.map((x, i) => finiteOrNull(x, `${field}[${i}]`));
}

function parseEntry(raw: unknown): JournalEntry {
  const o = raw as Record<string, unknown>;
  if (o === null || typeof o !== "object") throw new Error("expected an object");
  for (const f of ["m", "s"]) if (typeof o[f] !== "number" || !Number.isFinite(o[f])) throw new Error(`"${f}" must be a finite number, found ${JSON.stringify(o[f])}`);
  for (const f of ["from", "to"]) if (!Number.isInteger(o[f]) || (o[f] as number) < 0) throw new Error(`"${f}" must be an integer ≥ 0, found ${JSON.stringify(o[f])}`);
  const from = o.from as number;
  const to = o.to as number;
  const pairScores = finiteArray(o.pairScores, "pairScores");
  const clipIqa = finiteArray(o.clipIqa, "clipIqa");
  if (!(to > from) || pairScores.length !== to - from || clipIqa.length !== to - from) {
    throw new Error(`expected to > from and ${Math.max(0, to - from)} values in pairScores and clipIqa, found from ${from}, to ${to}, ${pairScores.length} and ${clipIqa.length}`);
  }
  return { m: o.m as number, s: o.s as number, from, to, pairScores, clipIqa, jaq: o.jaq === undefined ? null : finiteOrNull(o.jaq, "jaq") };
}

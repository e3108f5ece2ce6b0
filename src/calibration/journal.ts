/**
 * Calibration journal: JSON lines, a header naming what the run calibrates, then one line per evaluated candidate,
 * appended as soon as it completes. An interrupted run reopened with the same key replays the recorded candidates
 * instead of regenerating them, so at most the candidate in flight is lost. A journal written for another
 * model / scheme / steps / prompt set / seeds / search config is refused rather than mixed in.
 *
 *   {"type":"qsched-calibration-journal","version":1,"key":{...}}
 *   {"m":0.95,"s":0.9,"jaq":5.61,"clipScore":63.2,"meanClipIqa":0.71,"failed":false}
 */

const HEADER_TYPE = "qsched-calibration-journal";
const VERSION = 1;

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

/** One journalled candidate; `jaq` is null when the score was non-finite (JSON has no NaN). */
export interface JournalEntry {
  m: number;
  s: number;
  jaq: number | null;
  clipScore?: number | null;
  meanClipIqa?: number | null;
  failed: boolean;
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

/** SHA-256 (first 16 hex digits) of the prompts joined by newlines; Web Crypto exists in browsers and Node ≥ 20. */
export async function hashPrompts(prompts: readonly string[]): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(prompts.join("\n")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

function pointId(m: number, s: number): string {
  return `${m.toFixed(9)},${s.toFixed(9)}`;
}

export class CalibrationJournal {
  private readonly byPoint = new Map<string, JournalEntry>();

  private constructor(
    private readonly store: JournalStore,
    readonly key: JournalKey,
    /** Entries found when the journal was opened (the resumed part of the run). */
    readonly resumed: readonly JournalEntry[],
  ) {
    for (const e of resumed) this.byPoint.set(pointId(e.m, e.s), e);
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
    // split() leaves either "" (text ends in a newline) or a torn tail last: both are skipped.
    const lastComplete = lines.length - 1;
    let header: { type?: unknown; version?: unknown; key?: JournalKey };
    try {
      header = JSON.parse(lines[0]!);
    } catch {
      throw new Error(`calibration journal ${store.name}: first line is not JSON, expected a "${HEADER_TYPE}" header`);
    }
    if (header.type !== HEADER_TYPE || header.version !== VERSION) {
      throw new Error(`calibration journal ${store.name}: header must be type "${HEADER_TYPE}" version ${VERSION}, found ${JSON.stringify(header.type)} version ${JSON.stringify(header.version)}`);
    }
    const diffs = keyDifferences(key, header.key as JournalKey);
    if (diffs.length > 0) throw new JournalMismatchError(store.name, diffs);
    const entries: JournalEntry[] = [];
    for (let i = 1; i < lastComplete; i++) {
      const line = lines[i]!;
      if (line.trim() === "") continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        continue; // a fragment of a write cut short by a crash (see the note at the top): evaluate it again
      }
      try {
        entries.push(parseEntry(raw));
      } catch (e) {
        throw new Error(`calibration journal ${store.name}: line ${i + 1} is not a valid candidate (${(e as Error).message})`);
      }
    }
    // The torn tail (if any) is dropped; start the next append on a fresh line so it is not glued to the fragment.
    if (!text.endsWith("\n")) await store.append("\n");
    return new CalibrationJournal(store, key, entries);
  }

  /** The recorded candidate at (m, s), if this or an earlier run evaluated it. */
  lookup(m: number, s: number): JournalEntry | undefined {
    return this.byPoint.get(pointId(m, s));
  }

  /** Appends one completed candidate (one write, so a crash loses at most this line). */
  async record(entry: JournalEntry): Promise<void> {
    this.byPoint.set(pointId(entry.m, entry.s), entry);
    await this.store.append(`${JSON.stringify(entry)}\n`);
  }

  get size(): number {
    return this.byPoint.size;
  }
}

function finiteOrNull(v: unknown, field: string): number | null {
  if (v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`"${field}" must be a finite number or null, found ${JSON.stringify(v)}`);
  return v;
}

function parseEntry(raw: unknown): JournalEntry {
  const o = raw as Record<string, unknown>;
  if (o === null || typeof o !== "object") throw new Error("expected an object");
  for (const f of ["m", "s"]) if (typeof o[f] !== "number" || !Number.isFinite(o[f])) throw new Error(`"${f}" must be a finite number, found ${JSON.stringify(o[f])}`);
  if (typeof o.failed !== "boolean") throw new Error(`"failed" must be a boolean, found ${JSON.stringify(o.failed)}`);
  return {
    m: o.m as number,
    s: o.s as number,
    jaq: finiteOrNull(o.jaq, "jaq"),
    clipScore: o.clipScore === undefined ? undefined : finiteOrNull(o.clipScore, "clipScore"),
    meanClipIqa: o.meanClipIqa === undefined ? undefined : finiteOrNull(o.meanClipIqa, "meanClipIqa"),
    failed: o.failed,
  };
}

import { WeightsLoadError, listNames } from "../errors.ts";

/** What differs between the tensors a model expects and the tensors a checkpoint has. */
export interface TensorCheck {
  missing: string[];
  unexpected: string[];
  mismatched: { name: string; expected: number[]; found: number[] }[];
  ok: boolean;
}

type ShapeMap = Map<string, { shape: readonly number[] }> | Record<string, readonly number[]>;

function shapesOf(m: ShapeMap): Map<string, readonly number[]> {
  if (m instanceof Map) return new Map([...m].map(([k, v]) => [k, v.shape]));
  return new Map(Object.entries(m));
}

/** Compares names and shapes; lists are sorted so messages are stable. */
export function checkTensorsAgainst(expected: ShapeMap, found: ShapeMap): TensorCheck {
  const want = shapesOf(expected);
  const have = shapesOf(found);
  const missing = [...want.keys()].filter((k) => !have.has(k)).sort();
  const unexpected = [...have.keys()].filter((k) => !want.has(k)).sort();
  const mismatched: TensorCheck["mismatched"] = [];
  for (const [name, shape] of want) {
    const got = have.get(name);
    if (got && (got.length !== shape.length || got.some((d, i) => d !== shape[i]))) {
      mismatched.push({ name, expected: [...shape], found: [...got] });
    }
  }
  mismatched.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { missing, unexpected, mismatched, ok: !missing.length && !unexpected.length && !mismatched.length };
}

/** A multi-line description of a failed check (empty when it passed). */
export function formatTensorCheck(check: TensorCheck): string {
  const lines: string[] = [];
  if (check.missing.length) lines.push(`${check.missing.length} missing: ${listNames(check.missing)}`);
  if (check.unexpected.length) lines.push(`${check.unexpected.length} unexpected: ${listNames(check.unexpected)}`);
  if (check.mismatched.length) {
    const shown = check.mismatched.slice(0, 20).map((m) => `${m.name} expected ${JSON.stringify(m.expected)} found ${JSON.stringify(m.found)}`);
    lines.push(`${check.mismatched.length} with the wrong shape: ${shown.join("; ")}${check.mismatched.length > 20 ? "; ..." : ""}`);
  }
  return lines.join("\n");
}

/** Throws a WeightsLoadError listing every difference. */
export function assertTensorsMatch(expected: ShapeMap, found: ShapeMap, where: string): void {
  const check = checkTensorsAgainst(expected, found);
  if (!check.ok) throw new WeightsLoadError(`tensors do not match what the model expects:\n${formatTensorCheck(check)}`, where);
}

/**
 * Reads a tensor index in the `configs/<model>/<component>/tensors.json` format,
 * `{ "<name>": [[dim0, ...], "<dtype>"] }`, into names → shapes and names → dtypes.
 */
export function parseTensorIndex(json: unknown, where: string): { shapes: Record<string, number[]>; dtypes: Record<string, string> } {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new WeightsLoadError("tensor index is not an object of name → [shape, dtype]", where);
  }
  const shapes: Record<string, number[]> = {};
  const dtypes: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    const ok = Array.isArray(v) && v.length === 2 && Array.isArray(v[0]) && (v[0] as unknown[]).every((d) => Number.isSafeInteger(d) && (d as number) >= 0) && typeof v[1] === "string";
    if (!ok) throw new WeightsLoadError(`entry "${name}" is ${JSON.stringify(v)}, expected [[dims...], "DTYPE"]`, where);
    shapes[name] = v[0] as number[];
    dtypes[name] = v[1] as string;
  }
  return { shapes, dtypes };
}

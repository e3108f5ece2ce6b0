/** Reading the page's inputs: an empty or unreadable field is an error naming it, never a silent 0. */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A number input's value; `label` names it in the error. */
export function numberField(id: string, label: string): number {
  const raw = $<HTMLInputElement>(id).value.trim();
  const v = Number(raw);
  if (raw === "" || !Number.isFinite(v)) throw new Error(`${label} must be a number, found "${raw}"`);
  return v;
}

/** The "m, s" field: exactly two finite numbers. */
export function qschedField(id: string): { m: number; s: number } {
  const raw = $<HTMLInputElement>(id).value;
  const parts = raw.split(",").map((p) => p.trim());
  const [m, s] = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || !Number.isFinite(m) || !Number.isFinite(s)) {
    throw new Error(`Q-Sched must be "m, s" (two numbers), found "${raw}"`);
  }
  return { m: m!, s: s! };
}

/** An absolute URL from a URL field (relative to the page); `label` names it in the error. */
export function urlField(id: string, label: string): string {
  const raw = $<HTMLInputElement>(id).value.trim();
  try {
    return new URL(raw, location.href).toString();
  } catch {
    throw new Error(`${label} is not a URL: "${raw}"`);
  }
}

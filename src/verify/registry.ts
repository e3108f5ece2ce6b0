import type { VerifyKind } from "./types.ts";

const kinds = new Map<string, () => Promise<VerifyKind>>();

/** Registers a fixture kind; loaded lazily so the CLI only imports what a folder needs. */
export function registerVerifyKind(kind: string, load: () => Promise<VerifyKind>): void {
  kinds.set(kind, load);
}

export async function getVerifyKind(kind: string): Promise<VerifyKind> {
  const load = kinds.get(kind);
  if (!load) {
    throw new Error(`verify: manifest kind "${kind}" is not supported; supported kinds: ${[...kinds.keys()].sort().join(", ")}`);
  }
  return load();
}

export function verifyKinds(): string[] {
  return [...kinds.keys()].sort();
}

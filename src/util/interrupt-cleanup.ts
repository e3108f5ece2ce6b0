/**
 * Temporary files and folders (`<out>.partial`) that an interrupted command must not leave behind: Ctrl-C ends a
 * Node process without running `finally` blocks, so the writers register what they are writing here and the CLIs
 * call `removeTemporariesOnInterrupt()` once, which deletes whatever is registered before exiting with 130.
 * Node-only (uses node:fs and process).
 */
import { rmSync } from "node:fs";

const pending = new Set<string>();
let installed = false;

/** Registers `path` for removal on interrupt; returns the call that unregisters it (when it is renamed or deleted). */
export function removeOnInterrupt(path: string): () => void {
  pending.add(path);
  return () => pending.delete(path);
}

/** For CLI entry points: on SIGINT/SIGTERM, delete the registered temporaries, then exit 130 (143 for SIGTERM). */
export function removeTemporariesOnInterrupt(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.once(signal, () => {
      for (const p of pending) rmSync(p, { recursive: true, force: true });
      process.exit(code);
    });
  }
}

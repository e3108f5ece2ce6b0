/** Node file store for the calibration journal: one appendFile per line, so a kill loses at most the line in flight. */
import { appendFile, readFile } from "node:fs/promises";
import type { JournalStore } from "./journal.ts";

export function fileJournalStore(path: string): JournalStore {
  return {
    name: path,
    async read() {
      try {
        return await readFile(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async append(text: string) {
      await appendFile(path, text, "utf8");
    },
  };
}

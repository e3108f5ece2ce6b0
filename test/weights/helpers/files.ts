import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every file under `dir` whose name ends with `suffix`, sorted. */
export function findFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, suffix));
    else if (e.isFile() && e.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

import { verifyFolder, formatResult } from "../verify/run.ts";
import { verifyKinds } from "../verify/registry.ts";

const USAGE = `usage: qsched-gpu verify <fixture-folder> [--tol X] [--quiet]
  Runs every case of a fixture folder (its manifest.json "kind" picks the checks) and ends with
  "N passed, M failed". --tol sets the per-tensor bound on max|a-b| / max(max|b|, 1).`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "verify") {
    console.error(USAGE);
    return 2;
  }
  let folder: string | undefined;
  let tol: number | undefined;
  let quiet = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--tol") {
      tol = Number(rest[++i]);
      if (!Number.isFinite(tol) || tol < 0) {
        console.error(`qsched-gpu verify: --tol expects a non-negative number, got ${JSON.stringify(rest[i])}`);
        return 2;
      }
    } else if (a === "--quiet") quiet = true;
    else if (a.startsWith("--")) {
      console.error(`qsched-gpu verify: unknown option ${a}\n${USAGE}`);
      return 2;
    } else folder = a;
  }
  if (!folder) {
    console.error(USAGE);
    return 2;
  }
  try {
    const report = await verifyFolder(folder, { tol, log: quiet ? undefined : (l) => console.log(l) });
    for (const r of report.results) if (!r.ok || !quiet) console.log(formatResult(r));
    console.log(`${report.passed} passed, ${report.failed} failed`);
    return report.failed === 0 && report.results.length > 0 ? 0 : 1;
  } catch (e) {
    console.error(`qsched-gpu verify: ${(e as Error).message}`);
    console.error(`(supported kinds: ${verifyKinds().join(", ")})`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));

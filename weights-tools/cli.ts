import { exitAfterOutput } from "../src/util/exit-after-output.ts";
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { INSPECT_USAGE, run as runInspect } from "./commands/inspect.ts";
import { MAKE_RANDOM_USAGE, run as runMakeRandom } from "./commands/make-random.ts";
// quantize and verify-pack are written by the quant work (src/quant); this file only dispatches.
import { run as runQuantize } from "./commands/quantize.ts";
import { run as runVerifyPack } from "./commands/verify-pack.ts";
import { run as runPackPipeline } from "./commands/pack-pipeline.ts";
import { removeTemporariesOnInterrupt } from "../src/util/interrupt-cleanup.ts";

type Command = { summary: string; run: (args: string[]) => Promise<number> };

export const COMMANDS: Record<string, Command> = {
  inspect: { summary: "list tensors, dtypes, shapes, sizes and parameters per component", run: runInspect },
  "make-random": { summary: "write a seeded random-weight checkpoint in diffusers layout", run: runMakeRandom },
  quantize: { summary: "quantize a checkpoint into a weight pack", run: runQuantize },
  "verify-pack": { summary: "check a weight pack against its source checkpoint", run: runVerifyPack },
  "pack-pipeline": { summary: "copy a diffusers folder with its UNet as a weight pack (loadable by fromPretrained)", run: runPackPipeline },
};

export const USAGE = `usage: weights-tools <command> [options]
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(13)} ${c.summary}`).join("\n")}
Run "weights-tools <command> --help" for a command's options. Exit codes: 0 ok, 1 failure, 2 usage.

${INSPECT_USAGE}

${MAKE_RANDOM_USAGE}`;

/** Runs one command line (without "node cli.js"); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    (name ? console.log : console.error)(USAGE);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`weights-tools: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  // inspect and make-random usage is in USAGE; other commands print their own on --help.
  if ((name === "inspect" || name === "make-random") && (rest.includes("--help") || rest.includes("-h"))) {
    console.log(USAGE);
    return 0;
  }
  return cmd.run(rest);
}

/** True when this module is the program being run (also through an npm bin symlink), not an import. */
function isEntryPoint(): boolean {
  try {
    return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(realpathSync(process.argv[1]!)).href;
  } catch {
    return false;
  }
}

// Run when executed directly (the esbuild bundle), not when imported by tests.
if (isEntryPoint()) {
  removeTemporariesOnInterrupt(); // Ctrl-C leaves no .partial file or folder behind
  main(process.argv.slice(2)).then(
    (code) => exitAfterOutput(code),
    (e) => {
      console.error(`weights-tools: ${(e as Error).stack ?? e}`);
      exitAfterOutput(1);
    },
  );
}

#!/usr/bin/env node
// Bundles bench/models/run.ts with esbuild (as scripts/build.mjs bundles the Node library: shaders
// stay on disk, the `webgpu` package stays external) and runs it with the given arguments.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = fileURLToPath(new URL("../../", import.meta.url));
const outfile = join(root, "dist/bench/models-run.js");
await build({
  entryPoints: [join(root, "bench/models/run.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  external: ["webgpu"],
});
// Big random checkpoints: widening f16 → f32 tensor by tensor needs headroom beyond Node's default heap.
const r = spawnSync(process.execPath, ["--max-old-space-size=8192", "--enable-source-maps", outfile, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, QSCHED_ROOT: root },
});
process.exit(r.status ?? 1);

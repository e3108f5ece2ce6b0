#!/usr/bin/env node
// Packs what the kernel, model and verify runs need on a machine with a GPU but without npm or network
// (e.g. a lent GPU box): Node itself, the `webgpu` package's linux-x64 Dawn, ORT's WebGPU files, the bench
// bundles with tfjs inlined, the CLIs, and optionally oracle folders and model configs. Unpack it in a checkout
// of this repo and run scripts/offline-bench/run.sh there (kernels-bench/README.md, "On a GPU machine").
//   node scripts/offline-bench/pack.mjs [--golden <folder>]… [--configs <folder>]… [--vulkan-loader] [--out <file>]
// --vulkan-loader adds Debian's libvulkan1 (apt-get download) for machines without a Vulkan loader.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { execFileSync, execSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { values } = parseArgs({
  options: {
    golden: { type: "string", multiple: true, default: [] },
    configs: { type: "string", multiple: true, default: [] },
    "vulkan-loader": { type: "boolean", default: false },
    out: { type: "string", default: join(root, ".offline/pack.tar.xz") },
  },
});
if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`pack.mjs packs linux-x64 binaries; this is ${process.platform}-${process.arch}`);
for (const dir of [...values.golden, ...values.configs]) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`pack.mjs: ${dir} is not a folder`);
}
const stage = mkdtempSync(join(tmpdir(), "qsched-offline-"));
const node = { bundle: true, format: "esm", platform: "node", target: "es2022", logLevel: "warning", external: ["webgpu", "puppeteer-core"] };
// tfjs is inlined (its npm tree is 69 MB); ORT stays a file the peer imports by path, as in node_modules.
await build({ ...node, entryPoints: [join(root, "kernels-bench/run.ts")], outfile: join(stage, "dist/bench/run.js"), external: [...node.external, "onnxruntime-web", "onnxruntime-web/*"],
  banner: { js: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" } });
await build({ ...node, entryPoints: [join(root, "kernels-bench/gemm-variants.ts")], outfile: join(stage, "dist/bench/gemm-variants.js") });
await build({ ...node, entryPoints: [join(root, "kernels-bench/attention-kernels.ts")], outfile: join(stage, "dist/bench/attention-kernels.js") });
await build({ ...node, entryPoints: [join(root, "kernels-bench/overhead.ts")], outfile: join(stage, "dist/bench/overhead.js"), external: [...node.external, "onnxruntime-web", "onnxruntime-web/*"],
  banner: { js: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" } });
await build({ ...node, entryPoints: [join(root, "kernels-bench/conv-kernels.ts")], outfile: join(stage, "dist/bench/conv-kernels.js"),
  banner: { js: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" } });
await build({ ...node, entryPoints: [join(root, "bench/models/run.ts")], outfile: join(stage, "dist/bench/models-run.js") });
await build({ ...node, entryPoints: [join(root, "src/cli/qsched-gpu.ts")], outfile: join(stage, "dist/cli/qsched-gpu.js") });
await build({ ...node, entryPoints: [join(root, "src/cli/demo.ts")], outfile: join(stage, "dist/cli/demo.js") });
// gemm-variants.ts reads the probe shaders beside itself.
cpSync(join(root, "kernels-bench/shaders"), join(stage, "dist/bench/shaders"), { recursive: true });

const copy = (from, to) => cpSync(from, join(stage, to), { recursive: true });
for (const p of ["webgpu/package.json", "webgpu/index.js", "webgpu/dist/linux-x64"]) copy(join(root, "node_modules", p), `node_modules/${p}`);
for (const p of ["package.json", "dist/ort.node.min.js", "dist/ort.webgpu.min.mjs", "dist/ort-wasm-simd-threaded.jsep.mjs", "dist/ort-wasm-simd-threaded.jsep.wasm"]) {
  copy(join(root, "node_modules/onnxruntime-web", p), `node_modules/onnxruntime-web/${p}`);
}
copy(process.execPath, ".offline/bin/node");
try {
  execFileSync("strip", [join(stage, ".offline/bin/node")]); // 99 → 86 MB; 2.3 MB less once compressed
} catch {
  console.warn("pack.mjs: no strip; node goes in as it is");
}
for (const dir of values.golden) copy(resolve(dir), `.offline/golden/${basename(resolve(dir))}`);
for (const dir of values.configs) copy(resolve(dir), `.offline/configs/${basename(resolve(dir))}`);
if (values["vulkan-loader"]) {
  mkdirSync(join(stage, ".offline/debs"), { recursive: true });
  execSync("apt-get download libvulkan1", { cwd: join(stage, ".offline/debs"), stdio: "inherit" });
}
mkdirSync(resolve(values.out, ".."), { recursive: true });
execSync(`tar -C ${JSON.stringify(stage)} -cf - . | xz -T0 -9 > ${JSON.stringify(resolve(values.out))}`, { stdio: "inherit" });
rmSync(stage, { recursive: true, force: true });
console.log(`wrote ${values.out} (${(statSync(values.out).size / 2 ** 20).toFixed(1)} MiB)`);

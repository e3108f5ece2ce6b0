#!/usr/bin/env node
// Builds dist/ with esbuild: the library for Node and browsers, the scheduler entry, the CLIs and
// the browser test/bench pages. Shaders are embedded as text in every bundle (virtual module
// "qsched:shaders"); sources run by vitest/vite-node read them from shaders/ on disk.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = fileURLToPath(new URL("../", import.meta.url));

function wgslFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? wgslFiles(p) : name.endsWith(".wgsl") ? [p] : [];
  });
}

const shadersPlugin = {
  name: "qsched-shaders",
  setup(b) {
    b.onResolve({ filter: /^qsched:shaders$/ }, () => ({ path: "shaders", namespace: "qsched-shaders" }));
    b.onLoad({ filter: /.*/, namespace: "qsched-shaders" }, () => {
      const dir = join(root, "shaders");
      const files = Object.fromEntries(wgslFiles(dir).map((p) => [relative(dir, p), readFileSync(p, "utf8")]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: "js", watchFiles: wgslFiles(dir) };
    });
  },
};

/** Node bundles take #platform from src/platform/node-bundle.ts: Node's, with the shaders embedded as well. */
const nodePlatformPlugin = {
  name: "qsched-node-platform",
  setup(b) {
    b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(root, "src/platform/node-bundle.ts") }));
  },
};

const common = { bundle: true, format: "esm", sourcemap: true, logLevel: "warning", target: "es2022", plugins: [shadersPlugin] };
const node = { ...common, platform: "node", external: ["webgpu", "puppeteer-core"], plugins: [shadersPlugin, nodePlatformPlugin] };
const browser = { ...common, platform: "browser", conditions: ["browser"] };
const cli = { ...node, banner: { js: "#!/usr/bin/env node" } };


const jobs = [
  build({ ...node, entryPoints: [join(root, "src/index.ts")], outfile: join(root, "dist/node/index.js") }),
  build({ ...browser, entryPoints: [join(root, "src/index.ts")], outfile: join(root, "dist/browser/index.js") }),
  build({ ...browser, platform: "neutral", entryPoints: [join(root, "src/scheduler/index.ts")], outfile: join(root, "dist/scheduler/index.js") }),
  build({ ...cli, entryPoints: [join(root, "src/cli/qsched-gpu.ts")], outfile: join(root, "dist/cli/qsched-gpu.js") }),
  build({ ...cli, entryPoints: [join(root, "src/cli/demo.ts")], outfile: join(root, "dist/cli/demo.js") }),
  build({ ...browser, entryPoints: [join(root, "test/browser/page.ts")], outfile: join(root, "dist/test/browser-tests.js") }),
  build({ ...browser, entryPoints: [join(root, "examples/web-app/main.ts")], outfile: join(root, "dist/examples/web-app.js") }),
  // The web-app's calibration worker (loaded by the page as dist/examples/calibrate-worker.js, a module worker).
  build({ ...browser, entryPoints: [join(root, "examples/web-app/calibrate-worker.ts")], outfile: join(root, "dist/examples/calibrate-worker.js") }),
];
jobs.push(build({ ...cli, entryPoints: [join(root, "weights-tools/cli.ts")], outfile: join(root, "dist/cli/weights-tools.js") }));
// Kernel benchmarks: the Node runner (peers stay external, loaded from node_modules) and its page.
jobs.push(
  build({ ...node, entryPoints: [join(root, "kernels-bench/run.ts")], outfile: join(root, "dist/bench/run.js"), external: [...node.external, "@tensorflow/*", "onnxruntime-web", "onnxruntime-web/*"] }),
  build({ ...browser, entryPoints: [join(root, "kernels-bench/page.ts")], outfile: join(root, "dist/bench/kernels-page.js") }),
);
await Promise.all(jobs);

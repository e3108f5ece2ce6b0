#!/usr/bin/env node
// Builds the kernel bench with esbuild: kernels-bench/run.ts → dist/bench/run.js (Node) and
// kernels-bench/page.ts → dist/bench/kernels-page.js (browser, shaders embedded). A source module
// that does not exist yet (an op another helper is still writing) becomes a stub whose functions
// throw "not implemented", so the bench builds and reports those rows instead of failing to build.
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);

function wgslFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? wgslFiles(p) : name.endsWith(".wgsl") ? [p] : [];
  });
}

// Same virtual module as scripts/build.mjs: every shaders/**.wgsl as text, for the browser bundle.
const shadersPlugin = {
  name: "qsched-shaders",
  setup(b) {
    b.onResolve({ filter: /^qsched:shaders$/ }, () => ({ path: "shaders", namespace: "qsched-shaders" }));
    b.onLoad({ filter: /.*/, namespace: "qsched-shaders" }, () => {
      const dir = join(root, "shaders");
      const files = Object.fromEntries(wgslFiles(dir).map((p) => [relative(dir, p), readFileSync(p, "utf8")]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: "js" };
    });
  },
};

const missingModules = new Set();
const missingStubPlugin = {
  name: "missing-module-stub",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      if (existsSync(path)) return undefined;
      missingModules.add(relative(root, path));
      return { path, namespace: "missing-module" };
    });
    // CommonJS stub: any named import is a function that throws when called.
    b.onLoad({ filter: /.*/, namespace: "missing-module" }, (args) => ({
      contents: `const where = ${JSON.stringify(relative(root, args.path))};
module.exports = new Proxy({}, { get: (_, name) => name === "__esModule" ? false : () => { throw new Error("not implemented: " + where + " does not exist yet (" + String(name) + ")"); } });`,
      loader: "js",
    }));
  },
};

const common = { bundle: true, format: "esm", sourcemap: true, logLevel: "warning", target: "es2022", plugins: [shadersPlugin, missingStubPlugin] };
await Promise.all([
  build({
    ...common,
    platform: "node",
    entryPoints: [join(root, "kernels-bench/run.ts")],
    outfile: join(root, "dist/bench/run.js"),
    external: ["webgpu", "puppeteer-core", "@tensorflow/*", "onnxruntime-web", "onnxruntime-web/*"],
  }),
  build({ ...common, platform: "browser", conditions: ["browser"], entryPoints: [join(root, "kernels-bench/page.ts")], outfile: join(root, "dist/bench/kernels-page.js") }),
]);
if (missingModules.size) console.error(`kernels-bench build: stubbed missing modules: ${[...missingModules].join(", ")}`);

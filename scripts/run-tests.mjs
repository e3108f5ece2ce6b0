#!/usr/bin/env node
// `npm test` after set-up: builds, runs vitest in Node (Dawn + lavapipe), then the browser suite in
// headless Chromium (SwiftShader), and prints the combined counts and the wall time.
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = fileURLToPath(new URL("../", import.meta.url));
const t0 = Date.now();

// The full oracle the suites read ($QSCHED_GOLDEN, else ../shared/golden). A stated path without one is an error,
// not a quiet fallback to the shipped subset.
const stated = process.env.QSCHED_GOLDEN;
const golden = resolve(stated || join(root, "../shared/golden"));
const hasOracle = existsSync(join(golden, "README.md"));
if (stated && !hasOracle) {
  console.log(`QSCHED_GOLDEN=${stated}: no oracle there (expected ${join(golden, "README.md")}); unset it to run the shipped subset only\n0 passed, 1 failed`);
  process.exit(1);
}

// Children run one at a time; a signal to this process (CI cancelling, kill) is passed on, so no suite or
// Chromium keeps running after it. Ctrl-C reaches the whole process group anyway.
let child;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    child?.kill(sig);
    console.log(`\n${sig}: stopped\n0 passed, 1 failed`);
    process.exit(1);
  });
}
const run = (cmd, args) =>
  new Promise((done) => {
    child = spawn(cmd, args, { cwd: root, stdio: "inherit" });
    child.on("error", (e) => (console.log(`${cmd}: ${e.message}`), done(1)));
    child.on("exit", (code) => done(code ?? 1));
  });

mkdirSync(join(root, ".cache"), { recursive: true });
if ((await run("node", ["scripts/build.mjs"])) !== 0) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}

const vitestJson = join(root, ".cache/vitest.json");
rmSync(vitestJson, { force: true });
const nodeStatus = await run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile=${vitestJson}`]);
let nodePassed = 0;
let nodeFailed = nodeStatus === 0 ? 0 : 1;
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, "utf8"));
  nodePassed = r.numPassedTests;
  // Suites that fail to load count as failures too.
  nodeFailed = r.numFailedTests + (r.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).length).length;
  if (nodeStatus !== 0 && nodeFailed === 0) nodeFailed = 1;
}

const browserResults = join(root, ".cache/browser-results.json");
rmSync(browserResults, { force: true });
const browserStatus = await run("node", ["test/browser/run.mjs"]);
let browserPassed = 0;
let browserFailed = 1;
if (existsSync(browserResults)) ({ passed: browserPassed, failed: browserFailed } = JSON.parse(readFileSync(browserResults, "utf8")));
if (browserStatus !== 0 && browserFailed === 0) browserFailed = 1;

// The web-app example generating in Chromium, compared with the Node result.
const webResults = join(root, ".cache/web-app-results.json");
rmSync(webResults, { force: true });
const webStatus = await run("node", ["test/browser/web-app.mjs"]);
let webPassed = 0;
let webFailed = 1;
if (existsSync(webResults)) ({ passed: webPassed, failed: webFailed } = JSON.parse(readFileSync(webResults, "utf8")));
if (webStatus !== 0 && webFailed === 0) webFailed = 1;
browserPassed += webPassed;
browserFailed += webFailed;

const secs = ((Date.now() - t0) / 1000).toFixed(0);
console.log(`\nnode (Dawn): ${nodePassed} passed, ${nodeFailed} failed; browser (Chromium): ${browserPassed} passed, ${browserFailed} failed; ${secs} s`);
console.log(hasOracle ? `full oracle: RAN (${golden})` : `full oracle: NOT available (no ${golden}; set QSCHED_GOLDEN): only the shipped subset in test/fixtures ran`);
const passed = nodePassed + browserPassed;
const failed = nodeFailed + browserFailed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

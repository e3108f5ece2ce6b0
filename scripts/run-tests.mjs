#!/usr/bin/env node
// `npm test` after set-up: builds, runs vitest in Node (Dawn + lavapipe), then the browser suite in
// headless Chromium (SwiftShader), and prints the combined counts and the wall time.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const t0 = Date.now();
const run = (cmd, args, env = {}) => spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } }).status ?? 1;

mkdirSync(join(root, ".cache"), { recursive: true });
if (run("node", ["scripts/build.mjs"]) !== 0) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}

const vitestJson = join(root, ".cache/vitest.json");
rmSync(vitestJson, { force: true });
const nodeStatus = run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile=${vitestJson}`]);
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
const browserStatus = run("node", ["test/browser/run.mjs"]);
let browserPassed = 0;
let browserFailed = 1;
if (existsSync(browserResults)) ({ passed: browserPassed, failed: browserFailed } = JSON.parse(readFileSync(browserResults, "utf8")));
if (browserStatus !== 0 && browserFailed === 0) browserFailed = 1;

// The web-app example generating in Chromium, compared with the Node result.
const webResults = join(root, ".cache/web-app-results.json");
rmSync(webResults, { force: true });
const webStatus = run("node", ["test/browser/web-app.mjs"]);
let webPassed = 0;
let webFailed = 1;
if (existsSync(webResults)) ({ passed: webPassed, failed: webFailed } = JSON.parse(readFileSync(webResults, "utf8")));
if (webStatus !== 0 && webFailed === 0) webFailed = 1;
browserPassed += webPassed;
browserFailed += webFailed;

const secs = ((Date.now() - t0) / 1000).toFixed(0);
console.log(`\nnode (Dawn): ${nodePassed} passed, ${nodeFailed} failed; browser (Chromium): ${browserPassed} passed, ${browserFailed} failed; ${secs} s`);
const passed = nodePassed + browserPassed;
const failed = nodeFailed + browserFailed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

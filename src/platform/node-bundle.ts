/**
 * `#platform` for the Node bundles in dist/ (scripts/build.mjs): Node's platform with the shaders embedded as text,
 * like the browser bundle, so a bundle works wherever it is copied (an app bundling qsched-gpu with esbuild, an
 * Electron main process) without a shaders/ folder beside it. Sources run by vitest/vite-node read shaders/ on disk.
 */
import shaderFiles from "qsched:shaders";

export * from "./node.ts";

export function readShaderText(file: string): string {
  const text = shaderFiles[file];
  if (text === undefined) throw new Error(`shader file shaders/${file} is not in the bundle`);
  return text;
}

import shaderFiles from "qsched:shaders";

export type NodeAdapterChoice = "auto" | "lavapipe" | "swiftshader" | "system";

/** The browser's `navigator.gpu`. */
export async function platformGpu(_choice?: NodeAdapterChoice): Promise<{ gpu: GPU; icd?: string }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error("this browser has no WebGPU (navigator.gpu is undefined); try Chrome/Edge 113+ or enable WebGPU");
  return { gpu };
}

export const platformName = "browser";

/** Shader text bundled at build time by esbuild (scripts/build.mjs embeds shaders/**.wgsl). */
export function readShaderText(file: string): string {
  const text = shaderFiles[file];
  if (text === undefined) throw new Error(`shader file shaders/${file} is not in the bundle`);
  return text;
}

import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { openPipeline } from "../../src/weights/diffusers/pipeline.ts";
import { loadComponent } from "../../src/weights/diffusers/component.ts";
import type { ByteSource } from "../../src/weights/safetensors/byte-source.ts";
import { openSafetensors, type LazyTensor } from "../../src/weights/safetensors/lazy-reader.ts";
import { openNodeFileByteSource } from "../../src/weights/safetensors/node-byte-source.ts";
import { openHttpByteSource } from "../../src/weights/sources/http-byte-source.ts";
import { nodeFolderSource } from "../../src/weights/sources/node-folder-source.ts";
import { urlSource } from "../../src/weights/sources/url-source.ts";
import type { WeightSource } from "../../src/weights/sources/types.ts";
import { formatBytes } from "../progress-bar.ts";

export const INSPECT_USAGE = `usage: weights-tools inspect <file.safetensors | folder | URL> [--variant fp16] [--summary] [--json]
  Lists each component's tensors (name, dtype, shape, bytes) and its totals (tensors, parameters,
  bytes, dtypes). A folder or URL with model_index.json is read as a diffusers pipeline; otherwise as
  one component (config.json + weights). Only headers are read, never tensor data.
  --summary prints the totals only; --json prints everything as JSON.`;

/** What inspect reports about one component (or one file). */
export interface ComponentSummary {
  component: string;
  files: string[];
  tensors: number;
  parameters: number;
  bytes: number;
  dtypes: Record<string, number>;
  list: { name: string; dtype: string; shape: number[]; bytes: number }[];
}

export function summarize(component: string, files: string[], tensors: Map<string, LazyTensor>): ComponentSummary {
  const s: ComponentSummary = { component, files, tensors: tensors.size, parameters: 0, bytes: 0, dtypes: {}, list: [] };
  for (const t of tensors.values()) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    s.parameters += count;
    s.bytes += t.byteLength;
    s.dtypes[t.dtype] = (s.dtypes[t.dtype] ?? 0) + 1;
    s.list.push({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.byteLength });
  }
  return s;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Reads the headers behind `target` into one summary per component. */
export async function inspectTarget(target: string, variant?: string): Promise<ComponentSummary[]> {
  // A file URL may carry a query (the Hub's "?download=true", presigned links): look at its path.
  const path = isUrl(target) ? new URL(target).pathname : target;
  if (path.endsWith(".safetensors") && (isUrl(target) || statSync(target).isFile())) {
    const src: ByteSource = isUrl(target) ? await openHttpByteSource(target) : await openNodeFileByteSource(target);
    try {
      const st = await openSafetensors(src, target);
      return [summarize(target, [target], st.tensors)];
    } finally {
      await src.close?.();
    }
  }
  const source: WeightSource = isUrl(target) ? urlSource(target) : nodeFolderSource(target);
  let components = [""];
  if (await source.exists("model_index.json")) {
    components = (await openPipeline(source, { variant })).weightComponents;
    // A folder holding only fp16 files is common (Hub downloads with variant="fp16"): look there too.
    if (!components.length && variant === undefined) {
      variant = "fp16";
      components = (await openPipeline(source, { variant })).weightComponents;
    }
    if (!components.length) throw new Error(`${source.label}: model_index.json found but no component has weight files`);
  }
  const out: ComponentSummary[] = [];
  for (const name of components) {
    const c = await loadComponent(source, name, { variant });
    try {
      const files = c.weights.kind === "single" ? [c.weights.file] : [c.weights.indexFile, ...c.weights.shards];
      out.push(summarize(name || ".", files, c.tensors));
    } finally {
      await c.close();
    }
  }
  return out;
}

export function formatSummary(s: ComponentSummary, withTensors: boolean): string[] {
  const lines: string[] = [];
  if (withTensors) {
    const w = Math.max(...s.list.map((t) => t.name.length), 4);
    for (const t of s.list) lines.push(`  ${t.name.padEnd(w)}  ${t.dtype.padEnd(4)}  ${JSON.stringify(t.shape).padEnd(20)}  ${t.bytes}`);
  }
  const dtypes = Object.entries(s.dtypes).map(([d, n]) => `${d} ×${n}`).join(", ");
  lines.push(`${s.component}: ${s.tensors} tensors, ${s.parameters.toLocaleString("en-US")} parameters, ${formatBytes(s.bytes)} (${s.bytes} bytes; ${dtypes}) in ${s.files.join(", ")}`);
  return lines;
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { variant: { type: "string" }, summary: { type: "boolean", default: false }, json: { type: "boolean", default: false } } });
  } catch (e) {
    console.error(`inspect: ${(e as Error).message}\n${INSPECT_USAGE}`);
    return 2;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`inspect: expected one file, folder or URL, got ${parsed.positionals.length}\n${INSPECT_USAGE}`);
    return 2;
  }
  try {
    const summaries = await inspectTarget(parsed.positionals[0]!, parsed.values.variant);
    if (parsed.values.json) console.log(JSON.stringify(summaries, null, 1));
    else for (const s of summaries) for (const line of formatSummary(s, !parsed.values.summary)) console.log(line);
    return 0;
  } catch (e) {
    console.error(`inspect: ${(e as Error).message}`);
    return 1;
  }
}

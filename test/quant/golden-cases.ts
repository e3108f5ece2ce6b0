/** Loads the golden `quant` cases of a folder through its manifest (never by file name patterns). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../src/weights/safetensors/node-file.ts";

export interface QuantGoldenCase {
  name: string;
  scheme: string;
  groupSize: number;
  m: number;
  n: number;
  k: number;
  file: LoadedSafetensors;
}

export function loadQuantCases(dir: string): QuantGoldenCase[] {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
    kind: string;
    cases: { file: string; scheme: string; group_size: number; M: number; N: number; K: number }[];
  };
  if (manifest.kind !== "quant") throw new Error(`${dir}: manifest kind is "${manifest.kind}", expected "quant"`);
  return manifest.cases.map((c) => ({
    name: c.file.replace(/\.safetensors$/, ""),
    scheme: c.scheme,
    groupSize: c.group_size,
    m: c.M,
    n: c.N,
    k: c.K,
    file: readSafetensorsFileSync(join(dir, c.file)),
  }));
}

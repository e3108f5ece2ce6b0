import type { Gpu } from "../../gpu/runtime.ts";
import type { SafetensorsInMemory } from "../../weights/safetensors/memory.ts";
import type { CaseResult } from "../types.ts";

/** One manifest entry of an `ops` fixture folder. */
export interface OpsCase {
  op: string;
  file: string;
  shapes?: Record<string, number[]>;
  [key: string]: unknown;
}

/**
 * Runs one `ops` case on the GPU and compares every stored output. `tol` overrides the op's
 * README bound when given (`--tol`). Runners never read files themselves (browser and Node share them).
 */
export type OpsCaseRunner = (gpu: Gpu, st: SafetensorsInMemory, c: OpsCase, tol: number | undefined) => Promise<CaseResult>;

/** Messages between the web-app page and its calibration worker (calibrate-worker.ts). */
import type { LandscapePoint } from "../../src/calibration/calibrate.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";

export interface CalibrateRequest {
  type: "start";
  /** Pipeline folder URL (absolute) and the CLIP scorer folder URL; the scorer borrows the pipeline's text tower. */
  modelUrl: string;
  clipUrl: string;
  quant: QuantScheme;
  steps: number;
  guidanceScale: number;
  prompts: string[];
  search: "fast" | "grid";
  budget: number;
}

export type CalibrateMessage =
  | { type: "status"; text: string }
  | { type: "progress"; done: number; planned: number; point: LandscapePoint; best?: { m: number; s: number; jaq: number }; elapsedMs: number; etaMs?: number }
  | { type: "result"; m: number; s: number; jaq: number; landscape: LandscapePoint[]; file: string; ms: number }
  | { type: "error"; message: string };

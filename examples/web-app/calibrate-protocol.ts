/** Messages between the web-app page and its calibration worker (calibrate-worker.ts). */
import type { LandscapePoint } from "../../src/calibration/calibrate.ts";
import type { QuantScheme } from "../../src/pipeline/types.ts";

/**
 * The pipeline to calibrate: a folder URL (absolute), or a folder the user picked. A File posted to a worker keeps
 * its bytes and name but not its webkitRelativePath, so the picked files travel with their relative paths.
 */
export type CalibrateModel = { url: string } | { files: File[]; paths: string[]; label: string };

export interface CalibrateRequest {
  type: "start";
  /** The pipeline, and the CLIP scorer folder URL; the scorer borrows the pipeline's text tower. */
  model: CalibrateModel;
  clipUrl: string;
  quant: QuantScheme;
  steps: number;
  guidanceScale: number;
  prompts: string[];
  search: "fast" | "grid";
  /** Generations (images, one per candidate per prompt); absent: the search's default (the whole grid for grid). */
  budget?: number;
}

export type CalibrateMessage =
  | { type: "status"; text: string }
  /** done / planned count images; `candidates` distinct (m, s) points so far (a point may be extended to more prompts). */
  | { type: "progress"; done: number; planned: number; candidates: number; point: LandscapePoint; best?: { m: number; s: number; jaq: number }; elapsedMs: number; etaMs?: number }
  | { type: "result"; m: number; s: number; jaq: number; landscape: LandscapePoint[]; file: string; ms: number }
  | { type: "error"; message: string };

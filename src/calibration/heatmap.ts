/**
 * Renders a calibration landscape as an image: s runs left → right, m top → bottom (the `[i_m][j_s]` layout of the
 * recorded tables). Each pixel takes the colour of the nearest evaluated point (cells for a grid, Voronoi regions for
 * a sparse search), from dark blue (lowest JAQ) through green to yellow (highest); failed points are grey. Sparse
 * searches also get a small dark dot per evaluated point; the chosen point is a white ring with a black outline.
 */
import type { GeneratedImage } from "../pipeline/types.ts";
import { encodePng } from "../pipeline/png.ts";
import type { SearchBox } from "./search/types.ts";

export interface HeatmapPoint {
  m: number;
  s: number;
  jaq: number | null;
  failed: boolean;
}

export interface HeatmapOptions {
  /** Box drawn; default the points' bounding box (padded by half a cell so edge cells are whole). */
  box?: SearchBox;
  /** Image side in pixels; default 288 (9 cells of 32). */
  size?: number;
  /** The chosen point to mark; default the best successful point. */
  chosen?: { m: number; s: number };
  /** Colour scale limits; default the min and max successful JAQ. */
  range?: [number, number];
}

export const FAILED_COLOUR: readonly [number, number, number] = [128, 128, 128];
export const MARKER_COLOUR: readonly [number, number, number] = [255, 255, 255];
export const MARKER_OUTLINE: readonly [number, number, number] = [0, 0, 0];
/** Ring radii in pixels (inner white ring, black outline either side), sized to read at 288 px. */
const RING_RADIUS = 7;
const RING_HALF_WIDTH = 1.5;
const OUTLINE_WIDTH = 1.2;
const DOT_RADIUS = 2;

/** Dark blue → teal → green → yellow, viridis-like stops (t = 0 … 1). */
const RAMP: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

export function rampColour(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

function boundingBox(points: readonly HeatmapPoint[]): SearchBox {
  const ms = [...new Set(points.map((p) => p.m))].sort((a, b) => a - b);
  const ss = [...new Set(points.map((p) => p.s))].sort((a, b) => a - b);
  const halfStep = (axis: number[]) => (axis.length > 1 ? Math.min(...axis.slice(1).map((v, i) => v - axis[i]!)) / 2 : 0.025);
  const hm = halfStep(ms);
  const hs = halfStep(ss);
  return { mMin: ms[0]! - hm, mMax: ms[ms.length - 1]! + hm, sMin: ss[0]! - hs, sMax: ss[ss.length - 1]! + hs };
}

/** The landscape as an RGBA8 image (alpha 255). */
export function renderHeatmap(points: readonly HeatmapPoint[], options: HeatmapOptions = {}): GeneratedImage {
  if (points.length === 0) throw new Error("heatmap: no points, expected at least one evaluated candidate");
  const size = options.size ?? 288;
  if (!Number.isInteger(size) || size < 16) throw new Error(`heatmap: size must be an integer ≥ 16 pixels, found ${size}`);
  const box = options.box ?? boundingBox(points);
  const ok = points.filter((p) => !p.failed && p.jaq !== null && Number.isFinite(p.jaq));
  const lo = options.range?.[0] ?? Math.min(...ok.map((p) => p.jaq!));
  const hi = options.range?.[1] ?? Math.max(...ok.map((p) => p.jaq!));
  const chosen = options.chosen ?? ok.reduce<HeatmapPoint | undefined>((a, p) => (a === undefined || p.jaq! > a.jaq! ? p : a), undefined);

  // Pixel centre → (m, s); and (m, s) → pixel for the markers.
  const toS = (x: number) => box.sMin + ((x + 0.5) / size) * (box.sMax - box.sMin);
  const toM = (y: number) => box.mMin + ((y + 0.5) / size) * (box.mMax - box.mMin);
  const dots = points.map((p) => heatmapPixel(box, size, p.m, p.s));
  const ring = chosen ? heatmapPixel(box, size, chosen.m, chosen.s) : undefined;
  const colours = points.map((p) => (p.failed || p.jaq === null || !Number.isFinite(p.jaq) ? FAILED_COLOUR : rampColour(hi > lo ? (p.jaq - lo) / (hi - lo) : 1)));
  const sparse = !isFullGrid(points);

  // Points in box-normalised units, so an uneven box does not stretch the cells; plain arrays keep the
  // size² × points nearest-point loop fast (288² × 81 in a few tens of ms).
  const spanM = box.mMax - box.mMin;
  const spanS = box.sMax - box.sMin;
  const pm = Float64Array.from(points, (p) => p.m / spanM);
  const ps = Float64Array.from(points, (p) => p.s / spanS);
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    const m = toM(y) / spanM;
    for (let x = 0; x < size; x++) {
      const s = toS(x) / spanS;
      let nearest = 0;
      let nd = Infinity;
      for (let i = 0; i < pm.length; i++) {
        const d = (pm[i]! - m) ** 2 + (ps[i]! - s) ** 2;
        if (d < nd) {
          nd = d;
          nearest = i;
        }
      }
      let c = colours[nearest]!;
      if (sparse && Math.hypot(x - dots[nearest]!.x, y - dots[nearest]!.y) <= DOT_RADIUS) c = MARKER_OUTLINE;
      if (ring) {
        const off = Math.abs(Math.hypot(x - ring.x, y - ring.y) - RING_RADIUS);
        if (off <= RING_HALF_WIDTH) c = MARKER_COLOUR;
        else if (off <= RING_HALF_WIDTH + OUTLINE_WIDTH) c = MARKER_OUTLINE;
      }
      const o = (y * size + x) * 4;
      data[o] = c[0]!;
      data[o + 1] = c[1]!;
      data[o + 2] = c[2]!;
      data[o + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

/** True when the points fill a full rectangular lattice (then cells need no dots). */
function isFullGrid(points: readonly HeatmapPoint[]): boolean {
  const ms = new Set(points.map((p) => p.m));
  const ss = new Set(points.map((p) => p.s));
  return ms.size * ss.size === points.length;
}

/** The heatmap as PNG bytes. */
export async function heatmapPng(points: readonly HeatmapPoint[], options: HeatmapOptions = {}): Promise<Uint8Array> {
  return encodePng(renderHeatmap(points, options));
}

/** Where (m, s) lands in the image (pixel coordinates; pixel centres at integers), for markers, tests and overlays. */
export function heatmapPixel(box: SearchBox, size: number, m: number, s: number): { x: number; y: number } {
  return { x: ((s - box.sMin) / (box.sMax - box.sMin)) * size - 0.5, y: ((m - box.mMin) / (box.mMax - box.mMin)) * size - 0.5 };
}

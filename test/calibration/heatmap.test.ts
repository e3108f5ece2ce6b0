import { describe, expect, it } from "vitest";
import { FAILED_COLOUR, heatmapPixel, heatmapPng, MARKER_COLOUR, rampColour, renderHeatmap, type HeatmapPoint } from "../../src/calibration/heatmap.ts";
import { gridAxis } from "../../src/calibration/search/grid.ts";

const axis = gridAxis(0.8, 1.2, 9);
const gridPoints: HeatmapPoint[] = axis.flatMap((m) => axis.map((s) => ({ m, s, jaq: 5.7 - 8 * ((m - 0.95) ** 2 + (s - 0.9) ** 2), failed: false })));

function pixel(img: { width: number; data: Uint8ClampedArray }, x: number, y: number): number[] {
  const o = (Math.round(y) * img.width + Math.round(x)) * 4;
  return [...img.data.subarray(o, o + 4)];
}

describe("heatmap", () => {
  it("is size×size RGBA with opaque alpha, one cell per grid point", () => {
    const img = renderHeatmap(gridPoints, { size: 288 });
    expect(img.width).toBe(288);
    expect(img.height).toBe(288);
    expect(img.data.length).toBe(288 * 288 * 4);
    expect(img.data.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
    // Cell (m = 1.2, s = 1.2) is farthest from the top (0.95, 0.90), the lowest value: bottom-right 32-px cell,
    // centre (272, 272), first ramp colour.
    expect(pixel(img, 272, 272)).toEqual([...rampColour(0), 255]);
  });

  it("marks the chosen point with a white ring and colours the best cell's centre top of the ramp", () => {
    const size = 288;
    const img = renderHeatmap(gridPoints, { size });
    const box = { mMin: 0.775, mMax: 1.225, sMin: 0.775, sMax: 1.225 }; // grid ± half a cell (the default box)
    const c = heatmapPixel(box, size, 0.95, 0.9);
    // Column 2 (s = 0.90), row 3 (m = 0.95) of 32-px cells: their centres, up to float rounding of the box.
    expect(c.x).toBeCloseTo(79.5, 9);
    expect(c.y).toBeCloseTo(111.5, 9);
    expect(pixel(img, c.x, c.y)).toEqual([...rampColour(1), 255]); // inside the ring: the cell's own colour
    expect(pixel(img, c.x + 7, c.y)).toEqual([...MARKER_COLOUR, 255]); // on the ring (radius 7 px)
  });

  it("greys failed points and marks a caller-chosen point", () => {
    const pts = gridPoints.map((p) => (p.m > 1.1 ? { ...p, jaq: null, failed: true } : p));
    const img = renderHeatmap(pts, { size: 288, chosen: { m: 1.0, s: 1.0 } });
    expect(pixel(img, 16, 272)).toEqual([...FAILED_COLOUR, 255]); // m = 1.2 row
    expect(pixel(img, 143.5 + 7, 143.5)).toEqual([...MARKER_COLOUR, 255]); // (1.0, 1.0): cell (4, 4), centre 143.5
  });

  it("draws sparse (fast-search) landscapes as nearest-point regions and encodes a PNG", async () => {
    const sparse: HeatmapPoint[] = [
      { m: 1, s: 1, jaq: 5.5, failed: false },
      { m: 0.9, s: 0.85, jaq: 5.7, failed: false },
      { m: 1.1, s: 1.15, jaq: 3.0, failed: false },
    ];
    const png = await heatmapPng(sparse, { size: 64, box: { mMin: 0.8, mMax: 1.2, sMin: 0.8, sMax: 1.2 } });
    expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(new DataView(png.buffer, png.byteOffset).getUint32(16)).toBe(64); // IHDR width
  });

  it("refuses an empty landscape", () => {
    expect(() => renderHeatmap([])).toThrow(/no points/);
  });
});

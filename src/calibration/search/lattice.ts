import type { SearchBox } from "./types.ts";

/**
 * The candidate lattice of one box (box minimum + k·resolution on each axis) and the map to normalised coordinates
 * u, v ∈ [-1, 1], where the surrogates work so both axes have the same scale.
 */
export class Lattice {
  readonly ms: number[];
  readonly ss: number[];
  constructor(
    readonly box: SearchBox,
    resolution: number,
  ) {
    this.ms = axis(box.mMin, box.mMax, resolution);
    this.ss = axis(box.sMin, box.sMax, resolution);
  }
  get size(): number {
    return this.ms.length * this.ss.length;
  }
  toU(m: number): number {
    return (2 * (m - this.box.mMin)) / (this.box.mMax - this.box.mMin) - 1;
  }
  toV(s: number): number {
    return (2 * (s - this.box.sMin)) / (this.box.sMax - this.box.sMin) - 1;
  }
  /** Nearest lattice point to normalised (u, v). */
  snap(u: number, v: number): [number, number] {
    const m = this.box.mMin + ((u + 1) / 2) * (this.box.mMax - this.box.mMin);
    const s = this.box.sMin + ((v + 1) / 2) * (this.box.sMax - this.box.sMin);
    return [nearest(this.ms, m), nearest(this.ss, s)];
  }
}

function axis(lo: number, hi: number, step: number): number[] {
  const n = Math.floor((hi - lo) / step + 1e-9);
  // Round to the lattice's decimals so values print as 0.95, not 0.9500000000000001.
  const decimals = Math.max(0, Math.ceil(-Math.log10(step)) + 2);
  return Array.from({ length: n + 1 }, (_, i) => Number((lo + i * step).toFixed(decimals)));
}

function nearest(values: readonly number[], x: number): number {
  let best = values[0]!;
  for (const v of values) if (Math.abs(v - x) < Math.abs(best - x)) best = v;
  return best;
}

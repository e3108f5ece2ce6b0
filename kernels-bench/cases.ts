/**
 * The one list of benchmark cases (STYLE habit 7): each case is data — op, shapes, dtypes — plus
 * its `flops()` and `bytes()`. How each backend runs an op lives in ours.ts, peers/tfjs.ts and
 * peers/ort.ts, keyed by the case's `op`, so the Node runner and the browser page share this list.
 * Shapes are the SD-Turbo (512², 64² latents) and SDXL-Turbo (1024², 128² latents) UNet layers.
 */
export type BenchDType = "f32" | "f16";
export type QuantScheme = "W8A16" | "W4A16" | "W8A8" | "W4A8";

/** y[M, N] = x[M, K] · W[N, K]ᵀ (PyTorch linear, no bias). */
export interface LinearShape {
  op: "linear";
  m: number;
  k: number;
  n: number;
}
/** Same, with a quantized W (torchao schemes; int4 group size along K). */
export interface QuantLinearShape {
  op: "qlinear";
  m: number;
  k: number;
  n: number;
  scheme: QuantScheme;
  groupSize: number | "per-channel";
}
/** 3×3 conv, stride 1, padding 1, batch 1, with bias: [Cin, H, W] → [Cout, H, W]. */
export interface Conv3x3Shape {
  op: "conv3x3";
  h: number;
  w: number;
  cin: number;
  cout: number;
}
/** Multi-head attention, batch 1: q [Lq, H·d], k/v [Lk, H·d]. */
export interface AttentionShape {
  op: "attention";
  lq: number;
  lk: number;
  heads: number;
  headDim: number;
}
export type CaseShape = LinearShape | QuantLinearShape | Conv3x3Shape | AttentionShape;

export interface BenchCase {
  /** Stable id used in the JSON output and the final ratio line. */
  id: string;
  /** Where the shape comes from in the UNet. */
  where: string;
  shape: CaseShape;
  /** Our op runs once per dtype (f16 only where the adapter has shader-f16); peers run f32. */
  dtypes: BenchDType[];
  /**
   * Consecutive cases with the same group are timed together, run by run (timing.ts), so ratios between them (W4A8
   * vs W4A16) do not depend on when each was measured.
   */
  group?: string;
}

const ELEM_BYTES: Record<BenchDType, number> = { f32: 4, f16: 2 };

/** Bits per stored weight code. */
export function weightBits(s: QuantScheme): number {
  return s === "W4A16" || s === "W4A8" ? 4 : 8;
}

/** Multiply-adds count as two FLOPs; softmax and bias are left out (they are O(output)). */
export function flops(s: CaseShape): number {
  switch (s.op) {
    case "linear":
    case "qlinear":
      return 2 * s.m * s.k * s.n;
    case "conv3x3":
      return 2 * s.h * s.w * s.cout * s.cin * 9;
    case "attention":
      // QKᵀ and P·V, each 2·Lq·Lk·d per head.
      return 4 * s.heads * s.lq * s.lk * s.headDim;
  }
}

/** Compulsory DRAM traffic: every input read once and the output written once. */
export function bytes(s: CaseShape, dtype: BenchDType): number {
  const e = ELEM_BYTES[dtype];
  switch (s.op) {
    case "linear":
      return (s.m * s.k + s.n * s.k + s.m * s.n) * e;
    case "qlinear": {
      const groups = s.groupSize === "per-channel" ? 1 : s.k / s.groupSize;
      const scaleWords = s.scheme === "W4A16" ? 2 : 1; // W4A16 also stores float zero points
      return (s.m * s.k + s.m * s.n) * e + (s.n * s.k * weightBits(s.scheme)) / 8 + s.n * groups * 4 * scaleWords;
    }
    case "conv3x3":
      return (s.h * s.w * (s.cin + s.cout) + 9 * s.cin * s.cout + s.cout) * e;
    case "attention": {
      const c = s.heads * s.headDim;
      return (2 * s.lq * c + 2 * s.lk * c) * e;
    }
  }
}

export function shapeLabel(s: CaseShape): string {
  switch (s.op) {
    case "linear":
      return `${s.m}x${s.k}x${s.n}`;
    case "qlinear":
      return `${s.m}x${s.k}x${s.n} ${s.scheme}${s.groupSize === "per-channel" ? "" : ` g${s.groupSize}`}`;
    case "conv3x3":
      return `${s.cin}->${s.cout} @${s.h}x${s.w}`;
    case "attention":
      return `${s.lq}x${s.lk} ${s.heads}x${s.headDim}`;
  }
}

/** Whether the roofline of this shape is compute (GFLOP/s vs FMA peak) or memory (GB/s vs copy peak). */
export function boundBy(s: CaseShape, dtype: BenchDType): "compute" | "memory" {
  // lavapipe's measured balance is ~27 GFLOP/s over ~6 GB/s ≈ 4.5 FLOP/byte; use 4 as the cut.
  return flops(s) / bytes(s, dtype) >= 4 ? "compute" : "memory";
}

const both: BenchDType[] = ["f32", "f16"];
const f32: BenchDType[] = ["f32"];
const lin = (m: number, k: number, n: number): LinearShape => ({ op: "linear", m, k, n });
const q = (m: number, k: number, n: number, scheme: QuantScheme, groupSize: number | "per-channel"): QuantLinearShape => ({ op: "qlinear", m, k, n, scheme, groupSize });
/**
 * One int4 group size for W4A16, W4A8 and ORT's MatMulNBits block, so the three compare like for like.
 * 64 because SD's K = 320 / 640 are not multiples of torchao's default 128.
 */
export const INT4_GROUP = 64;
const quantSet = (m: number, k: number, n: number, where: string): BenchCase[] =>
  (["W4A16", "W8A16", "W8A8", "W4A8"] as const).map((scheme) => ({
    id: `qlinear_${scheme}_${m}x${k}x${n}`,
    where,
    shape: q(m, k, n, scheme, weightBits(scheme) === 4 ? INT4_GROUP : "per-channel"),
    dtypes: f32,
    group: `qlinear_${m}x${k}x${n}`,
  }));

/** The real UNet layers (≥ 1 s of runs each). */
export const FULL_CASES: BenchCase[] = [
  { id: "linear_4096x320x1280", where: "SD-Turbo 64² block, GEGLU/FF up (320→1280)", shape: lin(4096, 320, 1280), dtypes: both },
  { id: "linear_1024x640x2560", where: "SD-Turbo 32² block, FF up (640→2560)", shape: lin(1024, 640, 2560), dtypes: both },
  { id: "linear_4096x320x320", where: "SD-Turbo 64² block, attention q/k/v/out projection", shape: lin(4096, 320, 320), dtypes: both },
  { id: "linear_77x1024x320", where: "cross-attention K/V projection of 77 text tokens", shape: lin(77, 1024, 320), dtypes: both },
  { id: "conv3x3_320_64", where: "SD-Turbo ResNet conv, 320 ch at 64²", shape: { op: "conv3x3", h: 64, w: 64, cin: 320, cout: 320 }, dtypes: both },
  { id: "conv3x3_640_32", where: "SD-Turbo ResNet conv, 640 ch at 32²", shape: { op: "conv3x3", h: 32, w: 32, cin: 640, cout: 640 }, dtypes: both },
  { id: "attention_self_4096", where: "self-attention at 64² (5 heads × 64)", shape: { op: "attention", lq: 4096, lk: 4096, heads: 5, headDim: 64 }, dtypes: both },
  { id: "attention_self_1024", where: "self-attention at 32² (10 heads × 64)", shape: { op: "attention", lq: 1024, lk: 1024, heads: 10, headDim: 64 }, dtypes: both },
  { id: "attention_cross_4096x77", where: "cross-attention at 64² over 77 tokens", shape: { op: "attention", lq: 4096, lk: 77, heads: 5, headDim: 64 }, dtypes: both },
  ...quantSet(4096, 320, 1280, "FF up at 64², quantized"),
  ...quantSet(77, 1024, 320, "text K/V projection, quantized"),
];

/**
 * The same layers at 16² latents (256 tokens) — structure kept, work cut ~16× — so the whole set runs
 * in under 3 minutes on 2 CPU cores.
 */
export const QUICK_CASES: BenchCase[] = [
  { id: "linear_256x320x1280", where: "FF up at 16² tokens", shape: lin(256, 320, 1280), dtypes: both },
  { id: "linear_256x320x320", where: "attention projection at 16² tokens", shape: lin(256, 320, 320), dtypes: f32 },
  { id: "linear_77x1024x320", where: "cross-attention K/V projection of 77 text tokens", shape: lin(77, 1024, 320), dtypes: f32 },
  { id: "conv3x3_320_16", where: "ResNet conv, 320 ch at 16²", shape: { op: "conv3x3", h: 16, w: 16, cin: 320, cout: 320 }, dtypes: f32 },
  { id: "attention_self_256", where: "self-attention at 16² (5 heads × 64)", shape: { op: "attention", lq: 256, lk: 256, heads: 5, headDim: 64 }, dtypes: f32 },
  { id: "attention_cross_256x77", where: "cross-attention at 16² over 77 tokens", shape: { op: "attention", lq: 256, lk: 77, heads: 5, headDim: 64 }, dtypes: f32 },
  ...quantSet(256, 320, 1280, "FF up at 16², quantized"),
];

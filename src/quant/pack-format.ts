/**
 * The qsched quantized pack: a plain safetensors file. Float-kept tensors keep their names, dtypes and
 * bytes. A quantized weight `<name>` becomes `<name>.qcodes` (U32 [N, words per row], layout in
 * formats.ts), `<name>.qscales` (F32 [N, K/gs]) and, for W4A16, `<name>.qzeros` (F32 [N, K/gs]).
 * `__metadata__` (strings) holds:
 *   qsched_pack_version "1", qsched_scheme (W8A8 | W4A8 | W8A16 | W4A16), qsched_group_size (number or
 *   "per-channel"), qsched_source_model, qsched_component, qsched_policy, qsched_torchao (the mirrored
 *   call), and qsched_layout: JSON {"<name>": {shape, n, k, group_size, codes, scales, zero_points?,
 *   scale_dtype}} for every quantized weight (shape is the original one; convs are [N, Cin·kh·kw]);
 *   optionally qsched_component_config: the component's config.json it was made from (JSON), so a loader
 *   can tell a pack made for another model.
 * This file is pure (no I/O): planning and per-tensor encode/decode; src/quant/pack.ts does the files.
 */
import { bytesToFloat32 } from "../weights/safetensors/convert.ts";
import type { SafetensorsDtype } from "../weights/safetensors/dtypes.ts";
import { QUANT_FORMATS, checkGroupSize, parseSchemeId, wordsPerRow, type QuantFormat, type QuantSchemeId } from "./formats.ts";
import { quantizeWeight } from "./quantize.ts";
import { packWeight, type PackedWeight } from "./packing.ts";
import { decideTensor, type QuantPolicy } from "./policy.ts";

export const PACK_VERSION = "1";
export const CODES_SUFFIX = ".qcodes";
export const SCALES_SUFFIX = ".qscales";
export const ZEROS_SUFFIX = ".qzeros";

export interface QuantizedTensorLayout {
  /** Original shape: [N, K] linear or [Cout, Cin, kh, kw] conv. */
  shape: number[];
  n: number;
  k: number;
  group_size: number;
  codes: string;
  scales: string;
  zero_points?: string;
  scale_dtype: "F32";
}

export interface PackInfo {
  scheme: QuantSchemeId;
  groupSize: number | "per-channel";
  sourceModel: string;
  component: string;
  policy: string;
  layout: Record<string, QuantizedTensorLayout>;
  /** The component config the pack was made from (packs written before it was recorded have none). */
  componentConfig?: Record<string, unknown>;
}

/** A float-kept tensor as stored in a pack. */
export interface FloatTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian element bytes as stored. */
  bytes: Uint8Array;
}

export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** One source tensor's fate: kept as is, or quantized into the listed output tensors. */
export type PlannedTensor =
  | { kind: "float"; source: TensorSpec }
  | { kind: "quantized"; source: TensorSpec; layout: QuantizedTensorLayout };

export interface PackPlan {
  info: PackInfo;
  format: QuantFormat;
  tensors: PlannedTensor[];
  /** Output tensors in file order (what the header lists). */
  outputs: TensorSpec[];
  /** Why each float-kept 2-D/4-D `.weight` stayed float (for logs). */
  skipped: Map<string, string>;
}

const QUANTIZABLE_SOURCE_DTYPES: readonly SafetensorsDtype[] = ["F32", "F16", "BF16"];

/** Plans a pack from the source header alone (shapes and dtypes), so a streaming writer can emit the header first. */
export function planPack(
  sources: TensorSpec[],
  opts: { scheme: QuantSchemeId; groupSize?: number | "per-channel"; policy: QuantPolicy; sourceModel: string; component: string; componentConfig?: Record<string, unknown> },
): PackPlan {
  const format = QUANT_FORMATS[opts.scheme];
  const groupSize = opts.groupSize ?? format.defaultGroupSize;
  // Checked before any tensor: an unusable size would otherwise skip every tensor and write a float-only "pack".
  checkGroupSize(opts.scheme, groupSize);
  const names = new Set(sources.map((s) => s.name));
  const tensors: PlannedTensor[] = [];
  const outputs: TensorSpec[] = [];
  const layout: Record<string, QuantizedTensorLayout> = {};
  const skipped = new Map<string, string>();
  for (const s of sources) {
    const d = QUANTIZABLE_SOURCE_DTYPES.includes(s.dtype)
      ? decideTensor(s.name, s.shape, format, groupSize, opts.policy)
      : ({ quantize: false, reason: `dtype ${s.dtype}: only F32, F16 and BF16 weights are quantized` } as const);
    if (!d.quantize) {
      if (s.name.endsWith(".weight") && s.shape.length >= 2) skipped.set(s.name, d.reason);
      tensors.push({ kind: "float", source: s });
      outputs.push(s);
      continue;
    }
    const l: QuantizedTensorLayout = {
      shape: [...s.shape],
      n: d.n,
      k: d.k,
      group_size: d.groupSize,
      codes: s.name + CODES_SUFFIX,
      scales: s.name + SCALES_SUFFIX,
      ...(format.storesWeightZeroPoint ? { zero_points: s.name + ZEROS_SUFFIX } : {}),
      scale_dtype: "F32",
    };
    for (const out of [l.codes, l.scales, l.zero_points]) {
      if (out !== undefined && names.has(out)) throw new Error(`planPack: packed tensor name "${out}" collides with a source tensor`);
    }
    const groups = d.k / d.groupSize;
    outputs.push({ name: l.codes, dtype: "U32", shape: [d.n, wordsPerRow(format, d.k)] });
    outputs.push({ name: l.scales, dtype: "F32", shape: [d.n, groups] });
    if (l.zero_points) outputs.push({ name: l.zero_points, dtype: "F32", shape: [d.n, groups] });
    layout[s.name] = l;
    tensors.push({ kind: "quantized", source: s, layout: l });
  }
  const info: PackInfo = { scheme: opts.scheme, groupSize, sourceModel: opts.sourceModel, component: opts.component, policy: opts.policy.id, layout };
  if (opts.componentConfig) info.componentConfig = opts.componentConfig;
  return { info, format, tensors, outputs, skipped };
}

/** Quantizes one planned tensor from its source bytes into its output tensors' bytes (in plan order). */
export function encodePlannedTensor(t: PlannedTensor, format: QuantFormat, sourceBytes: Uint8Array): Uint8Array[] {
  if (t.kind === "float") return [sourceBytes];
  const { n, k, group_size } = t.layout;
  // F32 sources are viewed in place when aligned (no second copy of a large tensor); others are widened.
  const w =
    t.source.dtype === "F32" && sourceBytes.byteOffset % 4 === 0
      ? new Float32Array(sourceBytes.buffer, sourceBytes.byteOffset, sourceBytes.byteLength / 4)
      : bytesToFloat32(t.source.dtype, sourceBytes);
  const gs = format.defaultGroupSize === "per-channel" ? "per-channel" : group_size;
  let p: PackedWeight;
  try {
    p = packWeight(format, quantizeWeight(w, n, k, format, gs));
  } catch (e) {
    throw new Error(`quantizing "${t.source.name}" to ${format.scheme}: ${(e as Error).message}`, { cause: e });
  }
  const asBytes = (a: Uint32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return p.zeroPoints ? [asBytes(p.words), asBytes(p.scales), asBytes(p.zeroPoints)] : [asBytes(p.words), asBytes(p.scales)];
}

export function packMetadata(info: PackInfo, format: QuantFormat): Record<string, string> {
  return {
    qsched_pack_version: PACK_VERSION,
    qsched_scheme: info.scheme,
    qsched_group_size: String(info.groupSize),
    qsched_source_model: info.sourceModel,
    qsched_component: info.component,
    qsched_policy: info.policy,
    qsched_torchao: format.torchao,
    qsched_layout: JSON.stringify(info.layout),
    ...(info.componentConfig ? { qsched_component_config: JSON.stringify(info.componentConfig) } : {}),
  };
}

/** Parses and checks a pack's `__metadata__`; `where` names the file in errors. */
export function parsePackMetadata(meta: Record<string, string>, where: string): PackInfo {
  const version = meta.qsched_pack_version;
  if (version !== PACK_VERSION) {
    throw new Error(`${where}: qsched_pack_version is ${JSON.stringify(version)}, expected "${PACK_VERSION}" (not a qsched pack, or a newer one)`);
  }
  const scheme = parseSchemeId(meta.qsched_scheme ?? "");
  const gsText = meta.qsched_group_size ?? "";
  const groupSize = gsText === "per-channel" ? "per-channel" : Number(gsText);
  if (groupSize !== "per-channel" && !(Number.isInteger(groupSize) && groupSize > 0)) {
    throw new Error(`${where}: qsched_group_size "${gsText}" is not a positive integer or "per-channel"`);
  }
  if (!QUANT_FORMATS[scheme].allowedGroupSizes.includes(groupSize)) {
    throw new Error(`${where}: qsched_group_size ${gsText} is not one of ${scheme}'s (${QUANT_FORMATS[scheme].allowedGroupSizes.join(", ")})`);
  }
  let layout: unknown;
  try {
    layout = JSON.parse(meta.qsched_layout ?? "");
  } catch (e) {
    throw new Error(`${where}: qsched_layout is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(layout)) throw new Error(`${where}: qsched_layout must be a JSON object of tensor layouts, found ${JSON.stringify(layout)}`);
  for (const [name, l] of Object.entries(layout)) checkLayoutEntry(name, l, where);
  const info: PackInfo = {
    scheme,
    groupSize,
    sourceModel: meta.qsched_source_model ?? "",
    component: meta.qsched_component ?? "",
    policy: meta.qsched_policy ?? "",
    layout: layout as Record<string, QuantizedTensorLayout>,
  };
  if (meta.qsched_component_config !== undefined) {
    try {
      info.componentConfig = JSON.parse(meta.qsched_component_config) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${where}: qsched_component_config is not valid JSON (${(e as Error).message})`);
    }
  }
  return info;
}

/** The layout of quantized weight `name`, or undefined (own keys only: a tensor may be called "constructor"). */
export function layoutOf(info: PackInfo, name: string): QuantizedTensorLayout | undefined {
  return Object.prototype.hasOwnProperty.call(info.layout, name) ? info.layout[name] : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One qsched_layout entry has the fields and types QuantizedTensorLayout promises (a hand-edited or foreign file may not). */
function checkLayoutEntry(name: string, l: unknown, where: string): asserts l is QuantizedTensorLayout {
  const bad = (what: string) => new Error(`${where}: qsched_layout["${name}"] ${what}, found ${JSON.stringify(l)}`);
  if (!isPlainObject(l)) throw bad("must be an object");
  const positive = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  if (!Array.isArray(l.shape) || l.shape.length < 2 || !l.shape.every(positive)) throw bad("needs shape: an array of at least 2 positive integers");
  for (const f of ["n", "k", "group_size"]) if (!positive(l[f])) throw bad(`needs ${f}: a positive integer`);
  if ((l.k as number) % (l.group_size as number) !== 0) throw bad("needs group_size to divide k");
  for (const f of ["codes", "scales"]) if (typeof l[f] !== "string") throw bad(`needs ${f}: a tensor name`);
  if (l.zero_points !== undefined && typeof l.zero_points !== "string") throw bad("has zero_points that is not a tensor name");
}

/**
 * Checks a pack's layout against the tensors its file holds (`entries` in file order) and lists the
 * original tensor names in file order (a quantized weight sits where its codes tensor sits).
 * `packedNames` are the stored `.qcodes`/`.qscales`/`.qzeros` tensors.
 */
export function indexPackTensors(info: PackInfo, format: QuantFormat, entries: readonly string[], where: string): { names: string[]; packedNames: Set<string> } {
  const present = new Set(entries);
  const packedNames = new Set<string>();
  for (const [name, l] of Object.entries(info.layout)) {
    if (present.has(name)) throw new Error(`${where}: "${name}" is both a stored tensor and a quantized weight of qsched_layout`);
    for (const t of [l.codes, l.scales, l.zero_points]) {
      if (t === undefined) continue;
      if (!present.has(t)) throw new Error(`${where}: no tensor "${t}" (the layout of "${name}" names it)`);
      if (packedNames.has(t)) throw new Error(`${where}: tensor "${t}" is claimed twice in qsched_layout (again by "${name}")`);
      packedNames.add(t);
    }
    if (format.storesWeightZeroPoint !== (l.zero_points !== undefined)) {
      throw new Error(`${where}: "${name}" ${l.zero_points ? "has" : "lacks"} zero points but ${info.scheme} ${format.storesWeightZeroPoint ? "stores" : "does not store"} them`);
    }
    const k = l.shape.slice(1).reduce((a, b) => a * b, 1);
    if (l.shape[0] !== l.n || k !== l.k) {
      throw new Error(`${where}: "${name}" has shape [${l.shape}] but its layout says n = ${l.n}, k = ${l.k}`);
    }
    // Every weight of a pack is grouped as the pack says (K itself for per-channel schemes).
    const expected = info.groupSize === "per-channel" ? l.k : info.groupSize;
    if (l.group_size !== expected) {
      throw new Error(`${where}: "${name}" has group_size ${l.group_size}, but this ${info.scheme} pack's qsched_group_size ${info.groupSize} means ${expected} for K = ${l.k}`);
    }
  }
  const byCodes = new Map(Object.entries(info.layout).map(([name, l]) => [l.codes, name]));
  const names: string[] = [];
  for (const e of entries) {
    if (!packedNames.has(e)) names.push(e);
    else if (byCodes.has(e)) names.push(byCodes.get(e)!);
  }
  return { names, packedNames };
}

/** Builds a PackedWeight view over stored bytes, checking every shape against the layout. */
export function packedFromBytes(
  format: QuantFormat,
  name: string,
  l: QuantizedTensorLayout,
  get: (tensor: string) => { dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array },
): PackedWeight {
  const groups = l.k / l.group_size;
  const want = (tensor: string, dtype: SafetensorsDtype, shape: number[]) => {
    const t = get(tensor);
    if (t.dtype !== dtype || t.shape.join(",") !== shape.join(",")) {
      throw new Error(`pack tensor "${tensor}" of "${name}" is ${t.dtype} [${t.shape}], layout expects ${dtype} [${shape}]`);
    }
    // Copy so the typed array is aligned and owned (file slices can start at any byte).
    return t.bytes.slice().buffer;
  };
  const packed: PackedWeight = {
    format,
    n: l.n,
    k: l.k,
    groupSize: l.group_size,
    words: new Uint32Array(want(l.codes, "U32", [l.n, wordsPerRow(format, l.k)])),
    scales: new Float32Array(want(l.scales, "F32", [l.n, groups])),
    zeroPoints: l.zero_points ? new Float32Array(want(l.zero_points, "F32", [l.n, groups])) : null,
  };
  // The quantizers clamp every scale to at least eps: a smaller, negative or non-finite one is damage, which would
  // otherwise run as a plausible-looking wrong (or NaN) layer.
  const eps = format.weight.eps;
  const badScale = packed.scales.findIndex((v) => !(v >= eps && v < Infinity));
  if (badScale >= 0) {
    throw new Error(`pack tensor "${l.scales}" of "${name}": scale ${packed.scales[badScale]} at row ${Math.floor(badScale / groups)}, group ${badScale % groups} is not a finite number ≥ ${eps} (the quantizer's eps)`);
  }
  const badZero = packed.zeroPoints?.findIndex((v) => !Number.isFinite(v)) ?? -1;
  if (badZero >= 0) throw new Error(`pack tensor "${l.zero_points}" of "${name}": zero point ${packed.zeroPoints![badZero]} at row ${Math.floor(badZero / groups)} is not finite`);
  return packed;
}

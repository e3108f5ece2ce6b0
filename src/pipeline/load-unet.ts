/**
 * The UNet of a pipeline folder, from float weights (quantized at load when asked) or from a pack
 * (src/quant/packed-pipeline.ts): then scheme, policy and group size come from the pack, its codes
 * and scales are uploaded as stored, and only its float-kept tensors take the float path.
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { PrepackedWeight, PrepackedWeights } from "../models/quantized-linears.ts";
import { Unet, type UnetLoadOptions } from "../models/unet/unet.ts";
import type { StreamingWeightSource } from "../models/weights.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../quant/formats.ts";
import type { FloatTensor, PackInfo } from "../quant/pack-format.ts";
import { openLazyPack, type LazyPack } from "../quant/pack-reader.ts";
import { checkPackConfig, findComponentPack } from "../quant/packed-pipeline.ts";
import { bytesToFloat32 } from "../weights/safetensors/convert.ts";
import type { WeightSource } from "../weights/sources/types.ts";
import { fileOrderProgress, streamedBytes } from "./component-tensors.ts";
import { openComponent } from "./load.ts";
import type { LoadProgress, QuantScheme } from "./types.ts";

export const SCHEME_IDS: Record<Exclude<QuantScheme, "none">, QuantSchemeId> = { w8a8: "W8A8", w4a8: "W4A8", w8a16: "W8A16", w4a16: "W4A16" };

export interface UnetRequest {
  /** Unset: float weights stay float, a pack's scheme is used. */
  quant?: QuantScheme;
  policy?: "torchao" | "all";
  onProgress?: (p: LoadProgress) => void;
  /** Weight file variant of the float UNet (e.g. "fp16"); a pack is found as it is. */
  variant?: string;
  /** Aborts between tensors; what was uploaded is freed. */
  signal?: AbortSignal;
  /** unet/config.json when already read (openPipelineFolder). */
  config?: Record<string, unknown>;
  /** Passed on to Unet.load on both paths (e.g. the float storage dtype). */
  unetOptions?: Omit<UnetLoadOptions, "quant" | "policy" | "groupSize" | "prepacked">;
}

export interface LoadedUnet {
  unet: Unet;
  config: Record<string, unknown>;
  /** The quantization in effect (a pack's own, or the requested one). */
  quant: QuantScheme;
  /** The pack the weights came from (location and metadata), or null for float weights. */
  pack: { location: string; info: PackInfo } | null;
  /** Which layers are quantized (a pack's own, or the requested one); null for float weights. */
  policy: "torchao" | "all" | null;
}

export async function loadUnet(gpu: Gpu, src: WeightSource, req: UnetRequest): Promise<LoadedUnet> {
  const packPath = await findComponentPack(src, "unet");
  if (!packPath) {
    const quant = req.quant ?? "none";
    const c = await openComponent(src, "unet", req.onProgress, req.variant, req.config);
    const quantOpts = quant === "none" ? {} : { quant: QUANT_FORMATS[SCHEME_IDS[quant]], policy: req.policy ?? "torchao" };
    const unet = await c.load((t) => Unet.loadStreaming(gpu, t, c.config, { ...req.unetOptions, ...quantOpts, signal: req.signal }));
    return { unet, config: c.config, quant, pack: null, policy: quant === "none" ? null : (req.policy ?? "torchao") };
  }
  const location = src.locate(packPath);
  const config = req.config ?? (await readConfig(src, "unet/config.json"));
  const pack = await openLazyPack(await src.open(packPath), location);
  let unet: Unet;
  try {
    checkPackRequest(pack.info, req, location);
    checkPackConfig(pack.info, config, location);
    const stream = streamPack(pack, "unet", req.onProgress);
    unet = await Unet.loadStreaming(gpu, stream.tensors, config, { ...req.unetOptions, prepacked: stream.prepacked, signal: req.signal });
    stream.progress.finish();
  } finally {
    await pack.close();
  }
  return { unet, config, quant: pack.info.scheme.toLowerCase() as QuantScheme, pack: { location, info: pack.info }, policy: pack.info.policy as "torchao" | "all" };
}

/** A pack decides its scheme and policy; asking for others is an error, not a silent re-quantization. */
export function checkPackRequest(info: PackInfo, req: Pick<UnetRequest, "quant" | "policy">, where: string): void {
  if (req.quant !== undefined && req.quant !== info.scheme.toLowerCase()) {
    throw new Error(`${where}: this pack is ${info.scheme}; quant: ${req.quant} was requested (leave quant unset to use the pack's scheme, or load the float model)`);
  }
  if (req.policy !== undefined && req.policy !== info.policy) {
    throw new Error(`${where}: this pack was quantized with policy ${info.policy}; policy: ${req.policy} was requested`);
  }
}

async function readConfig(src: WeightSource, path: string): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(await src.readText(path));
  } catch (e) {
    throw new Error(`${src.locate(path)}: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error(`${src.locate(path)}: config is not a JSON object`);
  return json as Record<string, unknown>;
}

/**
 * A pack as a streaming source: `fetch(name)` reads one tensor — a quantized weight as its packed codes
 * and scales (never as floats), handed out by `prepacked.get`, a float-kept one for `f32` — and
 * `release(name)` drops it, so the CPU holds one weight at a time.
 */
export function streamPack(pack: LazyPack, component: string, onProgress?: (p: LoadProgress) => void) {
  const progress = fileOrderProgress(
    pack.names.map((n) => [n, pack.storedBytes(n)]),
    (done, total) => onProgress?.({ phase: "download", component, bytesDone: done, bytesTotal: total }),
  );
  const packed = new Map<string, PrepackedWeight>();
  const floats = new Map<string, FloatTensor>();
  const names = new Set(pack.names);
  const notFetched = (n: string) => new Error(`${pack.where}: tensor "${n}" was not fetched (a streaming source reads one tensor at a time: fetch, upload, release)`);
  const tensors: StreamingWeightSource = {
    where: pack.where,
    names: () => [...pack.names],
    has: (n) => names.has(n),
    shape: (n) => pack.shape(n),
    async fetch(n) {
      if (packed.has(n) || floats.has(n)) return;
      if (pack.isQuantized(n)) packed.set(n, { shape: pack.shape(n), packed: await pack.readQuantized(n) });
      else floats.set(n, await pack.readFloat(n));
      streamedBytes.add(pack.storedBytes(n));
      progress.fetched(n);
    },
    release(n) {
      if (!packed.delete(n) && !floats.delete(n)) return;
      streamedBytes.held -= pack.storedBytes(n);
    },
    f32: (n) => {
      if (pack.isQuantized(n)) throw new Error(`${pack.where}: "${n}" is stored quantized; it is uploaded from its packed codes, never as floats`);
      if (!names.has(n)) throw new Error(`${pack.where}: missing tensor "${n}"`);
      const t = floats.get(n);
      if (!t) throw notFetched(n);
      return bytesToFloat32(t.dtype, t.bytes);
    },
  };
  const prepacked: PrepackedWeights = {
    keys: () => pack.names.filter((n) => pack.isQuantized(n)).values(),
    get: (n) => {
      if (!pack.isQuantized(n)) return undefined;
      const w = packed.get(n);
      if (!w) throw notFetched(n);
      return w;
    },
  };
  return { tensors, prepacked, progress };
}

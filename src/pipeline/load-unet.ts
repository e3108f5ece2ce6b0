/**
 * The UNet of a pipeline folder, from float weights (quantized at load when asked) or from a pack
 * (src/quant/packed-pipeline.ts): then scheme, policy and group size come from the pack, its codes
 * and scales are uploaded as stored, and only its float-kept tensors take the float path.
 */
import type { Gpu } from "../gpu/runtime.ts";
import type { PrepackedWeight } from "../models/unet/quantized-linears.ts";
import { Unet, type UnetLoadOptions } from "../models/unet/unet.ts";
import type { WeightSource as TensorSource } from "../models/weights.ts";
import { QUANT_FORMATS, type QuantSchemeId } from "../quant/formats.ts";
import type { FloatTensor, PackInfo } from "../quant/pack-format.ts";
import { openLazyPack, type LazyPack } from "../quant/pack-reader.ts";
import { checkPackConfig, findComponentPack } from "../quant/packed-pipeline.ts";
import { bytesToFloat32 } from "../weights/safetensors/convert.ts";
import type { WeightSource } from "../weights/sources/types.ts";
import { openComponent } from "./load.ts";
import type { LoadProgress, QuantScheme } from "./types.ts";

export const SCHEME_IDS: Record<Exclude<QuantScheme, "none">, QuantSchemeId> = { w8a8: "W8A8", w4a8: "W4A8", w8a16: "W8A16", w4a16: "W4A16" };

export interface UnetRequest {
  /** Unset: float weights stay float, a pack's scheme is used. */
  quant?: QuantScheme;
  policy?: "torchao" | "all";
  onProgress?: (p: LoadProgress) => void;
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
}

export async function loadUnet(gpu: Gpu, src: WeightSource, req: UnetRequest): Promise<LoadedUnet> {
  const packPath = await findComponentPack(src, "unet");
  if (!packPath) {
    const quant = req.quant ?? "none";
    const c = await openComponent(src, "unet", req.onProgress);
    const quantOpts = quant === "none" ? {} : { quant: QUANT_FORMATS[SCHEME_IDS[quant]], policy: req.policy ?? "torchao" };
    const unet = Unet.load(gpu, c.tensors, c.config, { ...req.unetOptions, ...quantOpts });
    c.tensors.release(); // every weight is on the GPU now (Unet.load uploads all of them)
    return { unet, config: c.config, quant, pack: null };
  }
  const location = src.locate(packPath);
  const config = await readConfig(src, "unet/config.json");
  const pack = await openLazyPack(await src.open(packPath), location);
  let read: Awaited<ReturnType<typeof readPackedTensors>>;
  try {
    checkPackRequest(pack.info, req, location);
    checkPackConfig(pack.info, config, location);
    read = await readPackedTensors(pack, "unet", req.onProgress);
  } finally {
    await pack.close();
  }
  const unet = Unet.load(gpu, read.tensors, config, { ...req.unetOptions, prepacked: read.prepacked });
  read.tensors.release();
  return { unet, config, quant: pack.info.scheme.toLowerCase() as QuantScheme, pack: { location, info: pack.info } };
}

/** A pack decides its scheme and policy; asking for others is an error, not a silent re-quantization. */
function checkPackRequest(info: PackInfo, req: UnetRequest, where: string): void {
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
 * Reads every tensor of a pack: quantized weights as packed codes/scales (never as floats), float-kept
 * ones into a tensor source the model uploads from. `release()` drops the CPU copies after upload.
 */
async function readPackedTensors(pack: LazyPack, component: string, onProgress?: (p: LoadProgress) => void) {
  const total = pack.names.reduce((a, n) => a + pack.storedBytes(n), 0);
  let done = 0;
  const prepacked = new Map<string, PrepackedWeight>();
  const floats = new Map<string, FloatTensor>();
  for (const name of pack.names) {
    if (pack.isQuantized(name)) prepacked.set(name, { shape: pack.shape(name), packed: await pack.readQuantized(name) });
    else floats.set(name, await pack.readFloat(name));
    done += pack.storedBytes(name);
    onProgress?.({ phase: "download", component, bytesDone: done, bytesTotal: total });
  }
  const names = new Set(pack.names);
  const tensors: TensorSource & { release(): void } = {
    where: pack.where,
    names: () => [...pack.names],
    has: (n) => names.has(n),
    shape: (n) => pack.shape(n),
    f32: (n) => {
      if (pack.isQuantized(n)) throw new Error(`${pack.where}: "${n}" is stored quantized; it is uploaded from its packed codes, never as floats`);
      const t = floats.get(n);
      if (!t) throw new Error(`${pack.where}: missing tensor "${n}"`);
      return bytesToFloat32(t.dtype, t.bytes);
    },
    release: () => {
      floats.clear();
      prepacked.clear();
    },
  };
  return { tensors, prepacked };
}

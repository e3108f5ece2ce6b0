import { Gpu } from "../gpu/runtime.ts";
import { Unet, latentSizeFor } from "../models/unet/unet.ts";
import { guidanceScaleEmbedding } from "../ops/embeddings.ts";
import { scale } from "../ops/scale.ts";
import { parseCoefficientFile } from "../scheduler/coefficient-file.ts";
import { validateQSchedSpec, type QSchedSpec } from "../scheduler/qsched.ts";
import type { SchedulerClassName } from "../scheduler/types.ts";
import { TorchGenerator } from "../scheduler/rng/torch-generator.ts";
import { encodeConditioning, negativeConditioning, type TextStack } from "./conditioning.ts";
import { denoise } from "./denoise.ts";
import { checkGenerateOptions, type CheckedGenerate } from "./generate-options.ts";
import { checkFromPretrainedKeys, checkGenerateKeys } from "./option-keys.ts";
import type { PipelineKind } from "./kind.ts";
import { newScheduler, openComponent, openPipelineFolder, resolveSource, type OpenedPipeline, type PipelineSource } from "./load.ts";
import type { AnyScheduler } from "../scheduler/factory.ts";
import { loadUnet } from "./load-unet.ts";
import { loadTextEncoder, loadVaeDecoder } from "./model-adapters.ts";
import type { ImageDecoderPort } from "./ports.ts";
import { autoFallbackWarning, findCoefficientFile, resolveAutoQSched, type FoundCoefficients, type QSchedSource } from "./qsched-auto.ts";
import { loadTaesdPreview, rgbaToImages, toImages, vaePreview, type PreviewDecoder } from "./preview.ts";
import { imageToRgba8 } from "../ops/image.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { QUANT_SCHEMES, type FromPretrainedOptions, type GeneratedImage, type GenerateOptions, type GenerateResult, type QSchedOption, type QuantScheme } from "./types.ts";


/** Turns the user's qsched option into a scheduler spec (null = plain scheduler). */
export function resolveQSchedOption(q: QSchedOption | undefined, warn: (m: string) => void): QSchedSpec | null {
  if (q === undefined || q === null) return null;
  if (q === "auto") {
    warn("qsched: \"auto\" found no coefficient file with this model; using (m, s) = (1, 1)");
    return null;
  }
  if (typeof q === "string") return parseCoefficientFile(q).qsched;
  if (typeof q !== "object") throw new Error(`qsched must be { m, s }, { modelCoeff, sampleCoeff }, a coefficient file's JSON, "auto" or null, got ${JSON.stringify(q)}`);
  // Checked here, before any weight is loaded, not when the first generate() builds its scheduler.
  const spec: QSchedSpec = "m" in q ? { scheme: "linear", m: q.m, s: q.s } : { scheme: "explicit", modelCoeff: q.modelCoeff, sampleCoeff: q.sampleCoeff };
  validateQSchedSpec(spec);
  return spec;
}

/** Free GPU bytes a generate() may leave cached for the next call whatever its own peak (see trimUnused). */
const CACHE_KEEP_BYTES = 64 * 2 ** 20;

/**
 * Text-to-image with quantized weights and Q-Sched coefficients:
 * `const pipe = await QSchedPipeline.fromPretrained(folderOrUrl, { quant: "w4a8", qsched: { m, s } })`,
 * then `await pipe.generate({ prompt, seed })`. The pipeline type comes from model_index.json. A packed
 * pipeline folder (`weights-tools pack-pipeline`) loads its UNet from the pack's codes, in the pack's scheme.
 */
/** Gpus fromPretrained created for its pipeline alone (no `gpu` option): their pool can be drained at dispose(). */
const gpusMadeForOnePipeline = new WeakSet<Gpu>();

/** Callbacks waiting on each signal's abort: one listener per signal, however many calls share it. */
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `cb` when `signal` aborts; returns the function that stops waiting. An app may pass one signal to many queued
 * calls: a listener each made Node warn of a leak past 10 ("MaxListenersExceededWarning"), though none leaked.
 */
function onAbort(signal: AbortSignal, cb: () => void): () => void {
  let waiting = abortWaiters.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    abortWaiters.set(signal, (waiting = set));
    signal.addEventListener("abort", () => [...set].forEach((f) => f()), { once: true });
  }
  waiting.add(cb);
  return () => void waiting.delete(cb);
}

export class QSchedPipeline {
  private disposed = false;
  /** Set once the buffers are freed (dispose() while nothing runs, or when the last running call ends). */
  private freed = false;
  /** generate() / loadPreviewDecoder() calls running now (at most one: they queue on the Gpu). */
  private running = 0;
  /** TAESD for per-step previews (loadPreviewDecoder); null = previews decode with the VAE. */
  private taesd: PreviewDecoder | null = null;

  private constructor(
    readonly gpu: Gpu,
    readonly kind: PipelineKind,
    private readonly opened: OpenedPipeline,
    private readonly unet: Unet,
    private readonly text: TextStack[],
    private readonly vae: ImageDecoderPort,
    private readonly vaeScalingFactor: number,
    /** Default image size: unet sample_size × the VAE's 2^(levels−1) (as diffusers computes it). */
    readonly defaultSize: number,
    /** The quantization in effect: the requested one, or a packed pipeline's own scheme. */
    readonly quant: QuantScheme,
    /** Which layers it quantized ("torchao": nn.Linear only, "all": convolutions too); null for float weights. */
    readonly policy: "torchao" | "all" | null,
    private qsched: QSchedSpec | null,
    /** The folder's coefficient file (`qsched.json`) as found at load, for `qsched: "auto"`. */
    private readonly coefficients: FoundCoefficients | null,
    /** The UNet pack the quantized weights came from (location and metadata), or null. */
    readonly pack: { location: string; info: import("../quant/pack-format.ts").PackInfo } | null,
  ) {}

  /** Where the Q-Sched coefficients in use came from ("auto" says here whether it found the model's file). */
  qschedSource: QSchedSource = { kind: "none" };

  static async fromPretrained(source: PipelineSource, opts: FromPretrainedOptions = {}): Promise<QSchedPipeline> {
    checkFromPretrainedKeys(opts);
    // Unset quant means: float weights stay float, a pack keeps its own scheme.
    if (opts.quant !== undefined && !(QUANT_SCHEMES as readonly string[]).includes(opts.quant)) {
      throw new Error(`fromPretrained: quant must be ${QUANT_SCHEMES.join("|")}, got ${JSON.stringify(opts.quant)}`);
    }
    const dtype = opts.dtype ?? "f32";
    if (opts.scaleStorage !== undefined && opts.scaleStorage !== "f32" && opts.scaleStorage !== "f16") {
      throw new Error(`fromPretrained: scaleStorage must be f32|f16, got ${JSON.stringify(opts.scaleStorage)}`);
    }
    if (dtype !== "f32" && dtype !== "f16") throw new Error(`fromPretrained: dtype must be f32|f16, got ${JSON.stringify(dtype)}`);
    // "auto" is resolved once the scheme is known (after the UNet); other values are checked now.
    const qsched = opts.qsched === "auto" ? null : resolveQSchedOption(opts.qsched, (m) => console.warn(m));
    const gpu = opts.gpu ?? (await Gpu.create({ adapter: opts.adapter }));
    if (!opts.gpu) gpusMadeForOnePipeline.add(gpu);
    if (dtype === "f16" && !gpu.ctx.caps.f16) {
      throw new Error(`fromPretrained: dtype "f16" needs the WebGPU feature shader-f16, which this adapter (${gpu.ctx.describe()}) does not have; use dtype "f32"`);
    }
    // Queued with generate() calls on a shared Gpu: its uploads and quantizing dispatches must not land in another
    // pipeline's plan while that one records.
    return gpu.exclusive(() => QSchedPipeline.load(gpu, source, opts, dtype, qsched));
  }

  /** fromPretrained's loading, once its options are checked and its turn on the Gpu has come. */
  private static async load(gpu: Gpu, source: PipelineSource, opts: FromPretrainedOptions, dtype: "f32" | "f16", qsched: QSchedSpec | null): Promise<QSchedPipeline> {
    opts.signal?.throwIfAborted();
    const opened = await openPipelineFolder(await resolveSource(source, { signal: opts.signal }), opts.signal);
    const live0 = gpu.pool.live;
    const loaded: { dispose(): void }[] = [];
    try {
      const check = () => {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException("load aborted", "AbortError");
      };
      // A packed folder's UNet comes from its pack (scheme and policy from there); else float weights.
      const { unet, config: unetConfig, quant, pack, policy } = await loadUnet(gpu, opened.source, {
        quant: opts.quant,
        policy: opts.policy,
        onProgress: opts.onProgress,
        variant: opts.variant,
        unetOptions: { dtype, scaleStorage: opts.scaleStorage },
        signal: opts.signal,
        config: opened.configs.unet,
      });
      loaded.push(unet);
      check();
      const text: TextStack[] = [];
      const encoders = opened.kind === "sdxl" ? ["text_encoder", "text_encoder_2"] : ["text_encoder"];
      for (const [i, name] of encoders.entries()) {
        const c = await openComponent(opened.source, name, opts.onProgress, opts.variant, opened.configs[name]);
        const encoder = await c.load((t) => loadTextEncoder(gpu, name, c.config, t, opened.kind === "sdxl", dtype, opts.signal));
        loaded.push(encoder);
        text.push({ tokenizer: opened.tokenizers[i]!, encoder, module: name });
      }
      const vaeC = await openComponent(opened.source, "vae", opts.onProgress, opts.variant, opened.configs.vae);
      const vae = await vaeC.load((t) => loadVaeDecoder(gpu, vaeC.config, t, dtype, opts.signal));
      loaded.push(vae);
      const sf = Number(vaeC.config.scaling_factor ?? 0.18215);
      const levels = (vaeC.config.block_out_channels as unknown[] | undefined)?.length ?? 4;
      const sampleSize = Number(unetConfig.sample_size ?? 64);
      const coefficients = await findCoefficientFile(opened.source);
      const pipe = new QSchedPipeline(gpu, opened.kind, opened, unet, text, vae, sf, sampleSize * 2 ** (levels - 1), quant, policy, qsched, coefficients, pack);
      if (opts.qsched === "auto") pipe.setQSched("auto");
      else pipe.qschedSource = qsched ? { kind: "option" } : { kind: "none" };
      return pipe;
    } catch (e) {
      for (const m of loaded) m.dispose();
      if (gpu.pool.live !== live0) console.warn(`fromPretrained: ${gpu.pool.live - live0} bytes still allocated after a failed load`);
      gpu.pool.trim(); // cached free buffers of the partial load go back to the driver now
      throw e;
    }
  }

  /** The scheduler class generate() uses (from scheduler_config.json unless swapped). */
  get schedulerClass(): SchedulerClassName {
    return this.opened.schedulerConfig._class_name as SchedulerClassName;
  }

  /**
   * Swaps the scheduler class, keeping the folder's scheduler config (diffusers'
   * `pipe.scheduler = X.from_config(pipe.scheduler.config)`), e.g. "EulerAncestralDiscreteScheduler".
   */
  setSchedulerClass(className: SchedulerClassName): void {
    const config = { ...this.opened.schedulerConfig, _class_name: className };
    newScheduler({ ...this.opened, schedulerConfig: config }); // validates class vs config now, not at generate()
    this.opened.schedulerConfig = config;
  }

  /**
   * Sets the Q-Sched coefficients used by the next generate() calls (null = plain scheduler). "auto"
   * takes the model folder's `qsched.json` when it was calibrated for the loaded scheme, else warns
   * and uses (1, 1); `qschedSource` says which happened.
   */
  setQSched(q: QSchedOption): void {
    if (q === "auto") {
      const auto = resolveAutoQSched(this.coefficients, this.quant, this.policy);
      if (auto.source.kind === "fallback") console.warn(autoFallbackWarning(auto.source.reason));
      this.qsched = auto.spec;
      this.qschedSource = auto.source;
      return;
    }
    this.qsched = resolveQSchedOption(q, (m) => console.warn(m));
    this.qschedSource = this.qsched ? { kind: "option" } : { kind: "none" };
  }

  /**
   * The coefficients for a call of `steps` steps. Calibrated coefficients belong to the step count they were found
   * for; "auto" falls back to (1, 1) for another count, with a warning (an explicit `setQSched` is used as given).
   */
  private qschedFor(steps: number): QSchedSpec | null {
    const src = this.qschedSource;
    if (src.kind !== "file" || src.steps === steps) return this.qsched;
    console.warn(autoFallbackWarning(`${src.location} was calibrated for ${src.steps} steps, but this call runs ${steps}`));
    return null;
  }

  /**
   * Text to image. Calls may overlap (e.g. a second click while one runs): each waits for the ones before it on this
   * pipeline's Gpu (`Gpu.exclusive`), and its options are checked before it waits.
   */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    if (this.disposed) throw new Error("generate(): the pipeline was disposed");
    checkGenerateKeys(options);
    options.signal?.throwIfAborted();
    // The VAE's size limit only applies where the VAE decodes: the final image, or previews without a TAESD.
    const usesVae = (options.decoder ?? "vae") === "vae" || (options.preview === true && !this.taesd);
    const o: CheckedGenerate = checkGenerateOptions(options, this.kind, this.unet.config.inChannels, usesVae ? this.vae.sliceChannels : 0, this.gpu.ctx.caps.limits.maxStorageBufferBindingSize, this.defaultSize);
    // The scheduler and its Q-Sched coefficients as they are now: a queued call gives the image it was asked for,
    // even if setQSched() or setSchedulerClass() is called before its turn.
    const scheduler = newScheduler(this.opened);
    scheduler.setQSched(this.qschedFor(o.steps));
    return this.guarded("generate()", () => this.generateChecked(options, o, scheduler), options.signal);
  }

  /**
   * Runs `fn` in this Gpu's exclusive queue, unless the pipeline was disposed while it waited; a dispose() that comes
   * while calls are running frees the buffers once the last of them has finished.
   */
  private guarded<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let started = false;
    const run = this.gpu.exclusive(async () => {
      started = true;
      signal?.throwIfAborted();
      if (this.disposed) throw new Error(`${what}: the pipeline was disposed`);
      this.running++;
      try {
        return await fn();
      } finally {
        this.running--;
        if (this.disposed && this.running === 0) this.free();
      }
    });
    if (!signal) return run;
    // Aborted while still queued: reject now rather than after the calls ahead of it (its turn then ends at once).
    // Once started, the call itself stops between steps and rejects after freeing what it made.
    return new Promise<T>((resolve, reject) => {
      const stop = onAbort(signal, () => {
        if (!started) reject(signal.reason ?? new DOMException("This operation was aborted", "AbortError"));
      });
      run.then(resolve, reject).finally(stop);
    });
  }

  private async generateChecked(options: GenerateOptions, o: CheckedGenerate, scheduler: AnyScheduler): Promise<GenerateResult> {
    const t0 = performance.now();
    const decoder = options.decoder ?? "vae";
    if (decoder !== "vae" && decoder !== "taesd") throw new Error(`generate: decoder must be "vae" or "taesd", got ${JSON.stringify(decoder)}`);
    if (decoder === "taesd" && !this.taesd) throw new Error('generate: decoder "taesd" needs a TAESD: call loadPreviewDecoder(source) first');
    const gpu = this.gpu;
    this.checkTaesdFits(o, decoder === "taesd" || (options.preview === true && this.taesd !== null));
    const peak0 = gpu.pool.live;
    gpu.pool.peakLive = gpu.pool.live;
    scheduler.setTimesteps(o.steps);
    const [h, w] = latentSizeFor(o.height, o.width);
    const batch = o.prompts.length;
    const cfg = this.kind !== "lcm" && o.guidanceScale > 1;
    const negative = cfg ? negativeConditioning(this.kind, o.negative, batch, this.opened.index.options.force_zeros_for_empty_prompt) : null;
    const cond = await encodeConditioning(gpu, this.kind, this.text, o.prompts, negative, options.trace);
    const owned: { dispose(): void }[] = [cond];
    try {
      const extra = await this.extraConditioning(o, batch, cfg ? 2 : 1, h, w, cond.textEmbeds, options.trace);
      owned.push(...extra.owned);
      await options.trace?.("encoder_hidden_states", cond.context);
      const tText = performance.now();
      const generator = new TorchGenerator(o.seed);
      const { latents, stepMs } = await denoise(gpu, {
        unet: this.unet,
        scheduler,
        generator,
        shape: [batch, this.unet.config.inChannels, h, w],
        context: cond.context,
        cfgScale: cfg ? o.guidanceScale : undefined,
        eta: o.eta,
        extra: extra.inputs,
        outputDenoised: this.kind === "lcm",
        plan: options.unetPlan,
        checkFinite: options.checkFinite,
        signal: options.signal,
        onStep: options.onStep && (async (e, denoised) => {
          if (options.preview) e.preview = await this.previewImages(denoised);
          await options.onStep!(e);
        }),
        trace: options.trace,
      });
      owned.push(latents);
      await options.trace?.("final_latents", latents);
      const tDenoise = performance.now();
      let decoded: Tensor;
      if (decoder === "taesd") {
        // TAESD takes UNet-space latents (its scaling_factor is 1).
        decoded = await this.taesd!.decode(latents);
        owned.push(decoded);
      } else {
        const scaled = await scale(gpu, latents, 1 / this.vaeScalingFactor);
        owned.push(scaled);
        await options.trace?.("vae_decode_in", scaled);
        decoded = await this.vae.decode(scaled, { onProgress: options.onDecode });
        owned.push(decoded);
        await options.trace?.("vae_decode_out", decoded);
      }
      // keepRgba: the RGBA8 batch stays on the GPU for the caller (the CLIP scorer reads it there).
      const rgba = await imageToRgba8(gpu, decoded);
      owned.push(rgba);
      const images = await rgbaToImages(gpu, rgba);
      if (options.keepRgba) owned.pop(); // handed to the caller
      const tEnd = performance.now();
      // Cached free buffers beyond twice this call's peak (at least CACHE_KEEP_BYTES) go, those of sizes this call
      // did not use first: an app that changes sizes keeps what its current size needs, not every size it has seen.
      // Only here, where the call's work has been read back: nothing pending can still use a destroyed buffer.
      gpu.pool.trimUnused(Math.max(CACHE_KEEP_BYTES, 2 * (gpu.pool.peakLive - peak0)));
      return {
        images,
        seed: o.seed,
        timings: { textMs: tText - t0, denoiseMs: tDenoise - tText, decodeMs: tEnd - tDenoise, totalMs: tEnd - t0, stepMs },
        peakBytes: gpu.pool.peakLive - peak0,
        ...(options.keepRgba ? { rgba } : {}),
      };
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /**
   * Loads a TAESD (AutoencoderTiny) folder — URL, Node folder or FileList, e.g. madebyollin/taesd for
   * SD 1.x/2.x, taesdxl for SDXL — to decode `generate({ preview: true })` previews cheaply.
   */
  async loadPreviewDecoder(source: PipelineSource): Promise<void> {
    if (this.disposed) throw new Error("loadPreviewDecoder(): the pipeline was disposed");
    // Queued like generate(): a running generation may be decoding with the TAESD this replaces.
    return this.guarded("loadPreviewDecoder()", async () => {
      const decoder = await loadTaesdPreview(this.gpu, source, this.unet.dtype);
      this.taesd?.dispose();
      this.taesd = decoder;
    });
  }

  /** Which decoder `generate({ preview: true })` uses. */
  get previewDecoderKind(): "taesd" | "vae" {
    return this.taesd ? "taesd" : "vae";
  }

  /**
   * A TAESD decode (final or preview) of this call's size must fit one storage binding: checked before any work,
   * instead of failing after the whole denoising loop.
   */
  private checkTaesdFits(o: CheckedGenerate, usesTaesd: boolean): void {
    const bytes = usesTaesd ? this.taesd?.widestActivationBytes?.(o.prompts.length, ...latentSizeFor(o.height, o.width)) : undefined;
    const max = this.gpu.ctx.caps.limits.maxStorageBufferBindingSize;
    if (bytes === undefined || bytes <= max) return;
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    throw new Error(
      `generate: a TAESD decode of batch ${o.prompts.length} at ${o.width}×${o.height} needs ${mib(bytes)} MiB activations, over this adapter's maxStorageBufferBindingSize of ${mib(max)} MiB; ` +
        `load the pipeline with dtype "f16" (halves them), decode with the VAE (decoder: "vae", previews off), or use a smaller batch or size`,
    );
  }

  /** A step's x0 prediction (UNet-space latents) → RGBA8 images. */
  private async previewImages(denoised: Tensor): Promise<GeneratedImage[]> {
    const decoder = this.taesd ?? vaePreview(this.gpu, this.vae, this.vaeScalingFactor);
    const image = await decoder.decode(denoised);
    try {
      return await toImages(this.gpu, image);
    } finally {
      image.dispose();
    }
  }

  /** LCM's guidance embedding, SDXL's pooled embeds and time ids, batched like the context. */
  private async extraConditioning(o: CheckedGenerate, batch: number, copies: number, h: number, w: number, textEmbeds: import("../gpu/tensor.ts").Tensor | undefined, trace: GenerateOptions["trace"]) {
    const owned: { dispose(): void }[] = [];
    const inputs: { timestepCond?: import("../gpu/tensor.ts").Tensor; textEmbeds?: import("../gpu/tensor.ts").Tensor; timeIds?: number[] } = {};
    if (this.kind === "lcm" && this.unet.config.timeCondProjDim) {
      const wv = new Array(batch).fill(o.guidanceScale - 1);
      const emb = guidanceScaleEmbedding(this.gpu, wv, this.unet.config.timeCondProjDim);
      owned.push(emb);
      inputs.timestepCond = emb;
      await trace?.("timestep_cond", emb);
    }
    if (this.kind === "sdxl") {
      const ids = [o.height, o.width, 0, 0, o.height, o.width];
      inputs.timeIds = Array.from({ length: batch * copies }, () => ids).flat();
      inputs.textEmbeds = textEmbeds;
      await trace?.("add_text_embeds", textEmbeds!);
      await trace?.("add_time_ids", Float32Array.from(inputs.timeIds));
    }
    void h;
    void w;
    return { owned, inputs };
  }

  /**
   * Frees every GPU buffer the pipeline holds: now, or if a generate() is running, as soon as it ends (calls still
   * queued then fail, naming the disposal).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.running === 0) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    this.unet.dispose();
    for (const t of this.text) t.encoder.dispose();
    this.vae.dispose();
    this.taesd?.dispose();
    this.gpu.pool.trim();
    // A Gpu this pipeline made is nobody else's: tensors handed out earlier (keepRgba images) and given back after
    // dispose() go straight to the driver instead of into a cache no one will use again.
    if (gpusMadeForOnePipeline.has(this.gpu)) this.gpu.pool.destroyOnRelease = true;
  }
}

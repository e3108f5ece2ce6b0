import { GpuContext, getDevice, type DeviceOptions } from "./device.ts";
import { numel, storageBytes, type DType } from "./dtype.ts";
import { BindingMismatchError, GpuDeviceError, GpuLimitError } from "./errors.ts";
import type { CompiledKernel } from "./kernel-registry.ts";
import { KernelRegistry } from "./kernel-registry.ts";
import { defineKernel, type KernelSpec } from "./kernel.ts";
import { BufferPool } from "./pool.ts";
import { Profiler, type KernelTime } from "./profiler.ts";
import { Tensor, checkBindingSize, checkBufferSize, checkHostLength, decodeHost, encodeHost, type HostData } from "./tensor.ts";
import { packUniforms } from "./uniforms.ts";
import { asyncMarker } from "#platform";

const UNIFORM_CHUNK = 64 * 1024;
/** Cached bind groups kept before the cache starts over (a UNet step binds a few hundred distinct sets). */
const BIND_GROUP_CACHE_MAX = 4096;
const FILL_WG = 256;
const fillKernelSpec = defineKernel<Record<string, never>>({ name: "fill", file: "fill.wgsl", defines: () => ({ WG_SIZE: `${FILL_WG}u` }), label: () => "fill_u32" });

/** One dispatch as a plan replays it. */
export interface RecordedDispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** The uniform slice's offset (the bind group's one dynamic offset), or none for a kernel without uniforms. */
  dynamicOffsets: number[];
  workgroups: [number, number, number];
  label: string;
  /** Model module path at record time (e.g. "down_blocks.0/resnets.1"). */
  scope: string;
  /** Tensors the dispatch writes (for NaN/Inf debugging). */
  outputs: Tensor[];
}

export interface DispatchRecorder {
  dispatches: RecordedDispatch[];
  uniformBuffers: GPUBuffer[];
}

/** Bit patterns written into fresh outputs when poisoning is on: NaN for floats, 0xDEADBEEF for ints. */
const POISON_WORD: Record<DType, number> = { f32: 0x7fc00000, f16: 0x7e007e00, i32: 0xdeadbeef, u32: 0xdeadbeef, i8x4: 0xdeadbeef, i4x8: 0xdeadbeef };

/**
 * The eager execution layer: tensors from a pool, kernels from the registry, dispatches recorded
 * into one command encoder and submitted on `flush()` (or before any read-back). Uniforms go into
 * reused 64 KiB chunks; each dispatch's slice is written with `queue.writeBuffer`, which the queue
 * orders before the submit that uses it, so chunks are safely reused after every flush.
 */
/**
 * The Gpu with an open (unsubmitted) command encoder on each device. Several Gpus may share a device (pipelines and a
 * CLIP scorer do by default); each encodes into its own encoder, and submission order is queue order. At most one of
 * them keeps an encoder open: a Gpu that starts encoding, or flushes, submits the other's first, so work runs in the
 * order it was encoded across Gpus (before, a Gpu could read another's result before that was submitted).
 */
const openEncoders = new WeakMap<GpuContext, Gpu>();

/**
 * Compiled kernels belong to the device, not to a Gpu: every pipeline loaded on the shared device (each with a Gpu of
 * its own) reuses them instead of compiling its ~24 kernels again at every load.
 */
const registries = new WeakMap<GpuContext, KernelRegistry>();
function registryFor(ctx: GpuContext): KernelRegistry {
  let r = registries.get(ctx);
  if (!r) registries.set(ctx, (r = new KernelRegistry(ctx)));
  return r;
}

export class Gpu {
  readonly pool: BufferPool;
  readonly kernels: KernelRegistry;
  /** Fill every new output with NaN / 0xDEADBEEF before kernels write it (tests turn this on). */
  poisonOutputs = false;
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private uniformChunks: GPUBuffer[] = [];
  private bindGroups = new Map<string, GPUBindGroup>();
  private objectIds = new WeakMap<object, number>();
  private nextObjectId = 0;
  private uniformCursor = 0;
  private profiler?: Profiler;
  /** Set while a plan records (src/graph/plan.ts): dispatches are captured as well as run. */
  recorder?: DispatchRecorder;
  /** Names of the model modules being run (models push them; recorded with each dispatch). */
  private scopes: string[] = [];
  dispatches = 0;
  /** The tail of the exclusive() queue. */
  private exclusiveTail: Promise<void> = Promise.resolve();
  /** Tells code inside an exclusive() call (where the platform can: Node). */
  private readonly insideExclusive = asyncMarker();

  constructor(readonly ctx: GpuContext) {
    this.pool = new BufferPool(ctx);
    // Trimming destroys cached buffers; work still encoded here may use them (a just-disposed tensor's buffer).
    this.pool.beforeDestroy = () => this.flush();
    this.kernels = registryFor(ctx);
  }

  static async create(options?: DeviceOptions): Promise<Gpu> {
    const gpu = new Gpu(await getDevice(options));
    gpu.fillKernel = await gpu.kernel(fillKernelSpec, {});
    return gpu;
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  /**
   * Runs `fn` after every earlier `exclusive` call on this Gpu has settled. The eager layer has state that lives
   * across awaits (the plan recorder and the pool's arena while a plan records, the open command encoder), so two
   * pipeline calls interleaving on one Gpu would record each other's dispatches and allocations: top-level entry
   * points (a pipeline's load, generate, preview-decoder load) queue here instead. Not re-entrant: `fn` must not
   * call `exclusive` itself (in Node such a call is refused; in browsers it would wait forever).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Called from inside a running exclusive call (a generate() awaited in the same pipeline's onStep): it would wait
    // for the call it runs in, forever, and every later call behind it. Node can tell; browsers cannot.
    if (this.insideExclusive?.active()) {
      return Promise.reject(new Error("Gpu.exclusive: called from inside a running call on the same Gpu (e.g. generate() awaited in this pipeline's own onStep/trace callback), which would wait for itself; call it after the running call returns"));
    }
    const marker = this.insideExclusive;
    const run = this.exclusiveTail.then(() => (marker ? marker.run(fn) : fn()));
    this.exclusiveTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  kernel<Key>(spec: KernelSpec<Key>, key: Key): Promise<CompiledKernel> {
    return this.kernels.get(spec, key);
  }

  /**
   * An uninitialized (or poisoned) tensor from the pool. `unbound`: a tensor only buffer copies read (gatherRows'
   * big tables), which may exceed one storage binding up to maxBufferSize; dispatch refuses to bind it, and it is
   * not poisoned (the fill is a kernel).
   */
  empty(shape: readonly number[], dtype: DType, label = "tensor", opts: { exact?: boolean; unbound?: boolean } = {}): Tensor {
    const bytes = storageBytes(shape, dtype);
    const what = `${label} [${shape}] ${dtype}`;
    if (opts.unbound) checkBufferSize(this.ctx, bytes, what);
    else checkBindingSize(this.ctx, bytes, what);
    const buffer = this.pool.acquire(Math.max(bytes, 4), label, opts.exact);
    const t = new Tensor([...shape], dtype, buffer, 0, Math.max(bytes, 4), this.pool);
    if (this.poisonOutputs && bytes <= this.ctx.caps.limits.maxStorageBufferBindingSize) this.poison(t);
    return t;
  }

  /**
   * A tensor holding `data`. Pending dispatches are submitted first: queue.writeBuffer runs before
   * anything still waiting in the unsubmitted encoder, which could otherwise read or overwrite this
   * recycled buffer after the upload.
   */
  upload(data: HostData, shape: readonly number[], dtype: DType = "f32", label = "input", opts: { exact?: boolean; unbound?: boolean } = {}): Tensor {
    checkHostLength(shape, dtype, data);
    this.flush();
    const poison = this.poisonOutputs;
    this.poisonOutputs = false; // about to be overwritten anyway
    const t = this.empty(shape, dtype, label, opts);
    this.poisonOutputs = poison;
    const bytes = encodeHost(data, dtype, numel(shape));
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, bytes, 0, Math.min(bytes.byteLength, t.byteLength));
    // Uploaded while a plan records (a constant such as gatherRows' indices): a replay does not upload again, so the
    // buffer must keep these bytes for the plan's life instead of being reused by a later intermediate.
    if (this.recorder) this.pool.pin(t.buffer);
    return t;
  }

  /** Encodes a fill of `t` with the poison pattern of its dtype (in order with pending dispatches). */
  private poison(t: Tensor): void {
    const words = t.byteLength / 4;
    if (this.fillKernel) {
      const groups = Math.ceil(words / FILL_WG);
      const max = this.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
      const y = Math.ceil(groups / max);
      // Poisoning is a test aid: neither recorded into plans nor profiled.
      const [recorder, profiler] = [this.recorder, this.profiler];
      this.recorder = undefined;
      this.profiler = undefined;
      try {
        this.dispatch(this.fillKernel, { y: t }, { words, pattern: POISON_WORD[t.dtype] }, [Math.ceil(groups / y), y]);
      } finally {
        [this.recorder, this.profiler] = [recorder, profiler];
      }
    } else {
      // No fill pipeline (a Gpu built without create()): submit pending work, then write.
      this.flush();
      this.device.queue.writeBuffer(t.buffer, t.byteOffset, new Uint32Array(words).fill(POISON_WORD[t.dtype]));
    }
  }

  /** Compiled by `create()` so poisoning never has to wait for a compile. */
  private fillKernel?: CompiledKernel;

  /** Flushes pending work and reads a tensor back (floats as Float32Array, f16 widened). */
  async download(t: Tensor): Promise<Float32Array | Int32Array | Uint32Array> {
    t.binding(); // a disposed tensor's buffer may hold another tensor by now
    this.flush();
    const size = Math.ceil(t.byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: "readback" });
    const enc = this.device.createCommandEncoder({ label: "readback" });
    enc.copyBufferToBuffer(t.buffer, t.byteOffset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.ctx.check(`read-back of ${t}`);
      // A browser may reject the map before it reports the device lost: still a device error, with its reason.
      staging.destroy();
      throw new GpuDeviceError(`read-back of ${t} failed: ${(e as Error).message ?? String(e)}`);
    }
    const bytes = new Uint8Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.ctx.check(`read-back of ${t}`);
    return decodeHost(bytes, t.dtype, t.numel);
  }

  /** Floats of a tensor as Float32Array (throws for integer tensors). */
  async read(t: Tensor): Promise<Float32Array> {
    const out = await this.download(t);
    if (!(out instanceof Float32Array)) throw new Error(`read(): ${t} is not a float tensor; use download()`);
    return out;
  }

  /**
   * Records one dispatch. `bindings` must name exactly the shader's storage bindings; the uniform
   * struct (if the shader has one) is filled from `uniforms`.
   */
  dispatch(k: CompiledKernel, bindings: Record<string, Tensor>, uniforms: Record<string, number | readonly number[]> | undefined, workgroups: readonly number[]): void {
    const entries: GPUBindGroupEntry[] = [];
    const dynamicOffsets: number[] = [];
    let cacheKey = `${this.objectId(k)}`;
    const bound = Object.keys(bindings);
    const given = new Set(bound);
    for (const slot of k.slots) {
      if (slot.kind === "uniform") {
        if (!k.uniforms) throw new BindingMismatchError(`kernel ${k.label}: uniform slot without layout`);
        if (!uniforms) throw new BindingMismatchError(`kernel ${k.label} (shaders/${k.file}): binding ${slot.binding} "${slot.name}" is a uniform struct but the op passed no uniforms`);
        const slice = this.uniformSlice(packUniforms(k.uniforms.layout, uniforms, `kernel ${k.label}`));
        entries.push({ binding: slot.binding, resource: { buffer: slice.buffer, offset: 0, size: slice.size } });
        dynamicOffsets.push(slice.offset);
        cacheKey += `|${this.objectId(slice.buffer)}`;
        continue;
      }
      const t = bindings[slot.name];
      if (!t) {
        throw new BindingMismatchError(
          `kernel ${k.label} (shaders/${k.file}): binding ${slot.binding} "${slot.name}" (${slot.kind}) was not bound; the op bound [${bound.join(", ")}]`,
        );
      }
      given.delete(slot.name);
      // Tensors made as `unbound` (or views of imported buffers) may exceed one binding: name it here.
      if (t.byteLength > this.ctx.caps.limits.maxStorageBufferBindingSize) checkBindingSize(this.ctx, t.byteLength, `kernel ${k.label}: binding "${slot.name}" ${t}`);
      const b = t.binding();
      entries.push({ binding: slot.binding, resource: b });
      cacheKey += `|${this.objectId(b.buffer)}:${b.offset}:${b.size}`;
    }
    if (given.size) {
      throw new BindingMismatchError(
        `kernel ${k.label} (shaders/${k.file}): the op bound [${[...given].join(", ")}] which the shader does not declare; it declares [${k.slots.map((s) => s.name).join(", ")}]`,
      );
    }
    if (uniforms && !k.uniforms) throw new BindingMismatchError(`kernel ${k.label} (shaders/${k.file}): the op passed uniforms but the shader has no uniform struct`);
    const max = this.ctx.caps.limits.maxComputeWorkgroupsPerDimension;
    const [x = 1, y = 1, z = 1] = workgroups;
    if (x > max || y > max || z > max) {
      throw new GpuLimitError("maxComputeWorkgroupsPerDimension", `kernel ${k.label}: dispatch (${x}, ${y}, ${z}) exceeds maxComputeWorkgroupsPerDimension = ${max}`);
    }
    if (x === 0 || y === 0 || z === 0) return; // empty tensors: nothing to do
    const bindGroup = this.bindGroupFor(k, entries, cacheKey);
    const pass = this.passFor(k.label);
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bindGroup, dynamicOffsets);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.recorder?.dispatches.push({
      pipeline: k.pipeline,
      bindGroup,
      dynamicOffsets,
      workgroups: [x, y, z],
      label: k.label,
      scope: this.scopeName(),
      outputs: k.slots.filter((s) => s.kind === "storage").map((s) => bindings[s.name]!),
    });
    if (this.profiler) this.endProfiledDispatch(k.label);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    // Another Gpu on this device with work still encoded goes first: what it encoded came before whatever this one
    // does next (a read-back, an upload, a dispatch reading its result).
    const other = openEncoders.get(this.ctx);
    if (other && other !== this) other.flush();
    this.pass?.end();
    this.pass = undefined;
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
    }
    if (openEncoders.get(this.ctx) === this) openEncoders.delete(this.ctx);
    this.uniformCursor = 0;
    this.ctx.check("submit");
  }

  /** This Gpu's command encoder, opened after submitting any other Gpu's on the device (see openEncoders). */
  private openEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      const other = openEncoders.get(this.ctx);
      if (other && other !== this) other.flush();
      this.encoder = this.device.createCommandEncoder();
      openEncoders.set(this.ctx, this);
    }
    return this.encoder;
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.ctx.check("sync");
  }

  /** Starts collecting per-kernel times for the dispatches that follow. */
  startProfiling(): Profiler {
    this.flush();
    this.profiler ??= new Profiler(this.ctx);
    return this.profiler;
  }

  /** Stops profiling and returns per-kernel times (slowest first). */
  async stopProfiling(): Promise<KernelTime[]> {
    await this.sync();
    await Promise.all(this.pendingCpu);
    this.pendingCpu = [];
    const p = this.profiler;
    this.profiler = undefined;
    return p ? p.read() : [];
  }

  private passFor(label: string): GPUComputePassEncoder {
    if (this.profiler) {
      const encoder = this.openEncoder();
      this.pass?.end();
      const timestampWrites = this.profiler.passTimestamps(label);
      this.pass = encoder.beginComputePass(timestampWrites ? { timestampWrites, label } : { label });
      this.cpuStart = performance.now();
      return this.pass;
    }
    this.pass ??= this.openEncoder().beginComputePass();
    return this.pass;
  }

  private cpuStart = 0;
  private pendingCpu: Promise<void>[] = [];

  private endProfiledDispatch(label: string): void {
    this.pass!.end();
    this.pass = undefined;
    if (this.profiler!.source === "cpu") {
      // Without timestamps each dispatch is submitted alone and timed until the queue drains.
      this.device.queue.submit([this.encoder!.finish()]);
      this.encoder = undefined;
      if (openEncoders.get(this.ctx) === this) openEncoders.delete(this.ctx);
      const start = this.cpuStart;
      const prof = this.profiler!;
      this.pendingCpu.push(this.device.queue.onSubmittedWorkDone().then(() => prof.recordCpu(label, performance.now() - start)));
    }
  }

  /**
   * The current module path for reports: scopes joined by "/", except that a scope extending its parent's
   * dotted name ("down_blocks.0" → "down_blocks.0.resnets.1") shows only once, as the inner one.
   */
  private scopeName(): string {
    return this.scopes.filter((s, i) => !this.scopes[i + 1]?.startsWith(`${s}.`)).join("/");
  }

  /** Runs `fn` with `name` pushed on the module scope (dispatch labels, NaN reports). */
  async scope<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.scopes.push(name);
    try {
      return await fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Copies `src` into `dst` (same shape and dtype) on the GPU, after everything recorded so far. */
  copy(src: Tensor, dst: Tensor): void {
    if (src.dtype !== dst.dtype || src.shape.join() !== dst.shape.join()) {
      throw new Error(`copy: destination must match the source, got ${src.dtype} [${src.shape}] → ${dst.dtype} [${dst.shape}]`);
    }
    if (this.recorder) throw new Error("copy: not recordable in a plan (copies sit outside compute passes)");
    checkCopyBuffers("copy", src, dst);
    this.flush();
    const encoder = this.device.createCommandEncoder({ label: "copy" });
    // Buffer copies need 4-byte multiples; tensors occupy at least 4 bytes, rounded up.
    encoder.copyBufferToBuffer(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, Math.ceil(Math.min(src.byteLength, dst.byteLength) / 4) * 4);
    this.device.queue.submit([encoder.finish()]);
    this.ctx.check("copy");
  }

  /**
   * Copies element ranges of `src` into `dst` (same dtype) in one submission, after everything recorded so far:
   * each region is `count` elements from element `src` to element `dst`. Byte offsets and sizes must be
   * multiples of 4 (copyBufferToBuffer's rule: even element offsets and counts for f16).
   */
  copyRegions(src: Tensor, dst: Tensor, regions: readonly { src: number; dst: number; count: number }[]): void {
    if (src.dtype !== dst.dtype) throw new Error(`copyRegions: destination must be ${src.dtype} like the source, got ${dst.dtype}`);
    if (this.recorder) throw new Error("copyRegions: not recordable in a plan (copies sit outside compute passes)");
    checkCopyBuffers("copyRegions", src, dst);
    const bytes = src.byteLength / Math.max(src.numel, 1);
    this.flush();
    const encoder = this.device.createCommandEncoder({ label: "copy regions" });
    for (const r of regions) {
      const [from, to, size] = [r.src * bytes, r.dst * bytes, r.count * bytes];
      if (from % 4 || to % 4 || size % 4) throw new Error(`copyRegions: byte offsets and sizes must be multiples of 4, got ${from}, ${to}, ${size}`);
      if (r.src < 0 || r.dst < 0 || r.src + r.count > src.numel || r.dst + r.count > dst.numel) {
        throw new Error(`copyRegions: region ${r.src}→${r.dst} × ${r.count} is outside ${src.numel} → ${dst.numel} elements`);
      }
      encoder.copyBufferToBuffer(src.buffer, src.byteOffset + from, dst.buffer, dst.byteOffset + to, size);
    }
    this.device.queue.submit([encoder.finish()]);
    this.ctx.check("copyRegions");
  }

  /** Overwrites a tensor's contents from the host (plan inputs between runs). */
  write(t: Tensor, data: HostData): void {
    checkHostLength(t.shape, t.dtype, data);
    t.binding(); // a disposed tensor's buffer may hold another tensor by now
    // A replay would not write again: per-call data goes into plan inputs with write() before run().
    if (this.recorder) throw new Error("write: not recordable in a plan (write plan inputs before plan.run())");
    this.flush(); // see upload()
    const bytes = encodeHost(data, t.dtype, t.numel);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, bytes, 0, Math.min(bytes.byteLength, t.byteLength));
  }

  /**
   * Bind groups by kernel and bound buffer ranges. createBindGroup cost 38 of the 45 µs of a dispatch in Dawn (Node,
   * 2-core EPYC), and the same kernel meets the same pool buffers again and again. A plan's dispatches bind uniform
   * buffers of their own, so recording skips the cache. Keys are per kernel and buffer object, so entries of destroyed
   * buffers are never asked for again; the map is emptied when it grows past BIND_GROUP_CACHE_MAX.
   */
  private bindGroupFor(k: CompiledKernel, entries: GPUBindGroupEntry[], cacheKey: string): GPUBindGroup {
    if (this.recorder) return this.device.createBindGroup({ layout: k.bindGroupLayout, entries, label: k.label });
    let group = this.bindGroups.get(cacheKey);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
      group = this.device.createBindGroup({ layout: k.bindGroupLayout, entries, label: k.label });
      this.bindGroups.set(cacheKey, group);
    }
    return group;
  }

  /** A number per kernel or buffer object, for bind-group cache keys. */
  private objectId(o: CompiledKernel | GPUBuffer): number {
    let id = this.objectIds.get(o);
    if (id === undefined) this.objectIds.set(o, (id = this.nextObjectId++));
    return id;
  }

  private uniformSlice(data: ArrayBuffer): GPUBufferBinding & { offset: number; size: number } {
    if (this.recorder) {
      // A plan keeps its uniforms for its whole life: one small buffer per dispatch.
      const buffer = this.device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: "plan-uniforms" });
      this.device.queue.writeBuffer(buffer, 0, data);
      this.recorder.uniformBuffers.push(buffer);
      return { buffer, offset: 0, size: data.byteLength };
    }
    const align = this.ctx.caps.limits.minUniformBufferOffsetAlignment;
    const chunkIndex = Math.floor(this.uniformCursor / UNIFORM_CHUNK);
    let offset = this.uniformCursor % UNIFORM_CHUNK;
    if (offset + data.byteLength > UNIFORM_CHUNK) {
      this.uniformCursor = (chunkIndex + 1) * UNIFORM_CHUNK;
      return this.uniformSlice(data);
    }
    let chunk = this.uniformChunks[chunkIndex];
    if (!chunk) {
      chunk = this.device.createBuffer({ size: UNIFORM_CHUNK, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: "uniforms" });
      this.uniformChunks.push(chunk);
    }
    this.device.queue.writeBuffer(chunk, offset, data);
    this.uniformCursor += Math.ceil(data.byteLength / align) * align;
    return { buffer: chunk, offset, size: data.byteLength };
  }
}

/** Buffer copies need two live tensors in two buffers (WebGPU refuses a copy within one buffer, and the device dies). */
function checkCopyBuffers(op: string, src: Tensor, dst: Tensor): void {
  src.binding();
  dst.binding();
  if (src.buffer === dst.buffer) throw new Error(`${op}: source and destination share one GPU buffer (a tensor and its own view); copy through a new tensor`);
}

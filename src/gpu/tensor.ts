import type { GpuContext } from "./device.ts";
import { DTYPE_BITS, numel, storageBytes, f32ToF16Bits, type DType } from "./dtype.ts";
import { narrowF32, widenF16 } from "../util/float16.ts";
import { GpuLimitError, OpInputError } from "./errors.ts";
import type { BufferPool } from "./pool.ts";

/**
 * A GPU tensor: a view of `byteLength` bytes at `byteOffset` in `buffer`, row-major, with a logical
 * shape and dtype. Tensors from a pool go back to it on `dispose()`.
 */
export class Tensor {
  private disposed = false;

  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly buffer: GPUBuffer,
    readonly byteOffset = 0,
    readonly byteLength = storageBytes(shape, dtype),
    private readonly pool?: BufferPool,
    /** The tensor a view was made of: a view is dead when its base is (its buffer may hold another tensor by then). */
    private readonly base?: Tensor,
  ) {}

  /** Whether disposing this tensor returns its buffer to the pool (false for views and imported buffers). */
  get ownsBuffer(): boolean {
    return this.pool !== undefined && !this.disposed;
  }

  get numel(): number {
    return numel(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed || (this.base?.bufferGone ?? false);
  }

  /** Set by reshape(): the tensor that took this one's buffer over. */
  private movedTo?: Tensor;

  /** Whether the bytes this tensor names were given up: by its owner's dispose (following reshapes and views). */
  private get bufferGone(): boolean {
    if (this.movedTo) return this.movedTo.bufferGone;
    if (this.base) return this.base.bufferGone;
    return this.disposed;
  }

  /** The binding a bind group needs for this tensor (throws once it or the tensor it views was disposed). */
  binding(): GPUBufferBinding {
    if (this.isDisposed) throw new Error(`tensor [${this.shape}] ${this.dtype} used after dispose()${this.disposed ? "" : " of the tensor it views"}`);
    return { buffer: this.buffer, offset: this.byteOffset, size: this.byteLength };
  }

  /**
   * The same bytes under another shape (same element count); the view does not own the buffer, so
   * disposing it is a no-op and it must not outlive this tensor.
   */
  view(shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== this.numel) throw new Error(`view: shape [${shape}] has ${n} elements, tensor ${this} has ${this.numel}`);
    return new Tensor([...shape], this.dtype, this.binding().buffer, this.byteOffset, this.byteLength, undefined, this);
  }

  /** The same buffer under another shape, taking over ownership (this tensor must not be used after). */
  reshape(shape: readonly number[]): Tensor {
    const v = this.view(shape);
    const moved = new Tensor(v.shape, this.dtype, this.buffer, this.byteOffset, this.byteLength, this.pool, this.base);
    this.disposed = true; // ownership moved: disposing the old handle must not release the buffer
    this.movedTo = moved; // views made of the old handle live as long as the new one
    return moved;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pool) this.pool.release(this.buffer);
  }

  toString(): string {
    return `Tensor[${this.shape.join("×")}] ${this.dtype}`;
  }
}

/** Checks a tensor fits one storage binding; names the limit when it does not. */
export function checkBindingSize(ctx: GpuContext, bytes: number, what: string): void {
  const max = ctx.caps.limits.maxStorageBufferBindingSize;
  if (bytes > max) {
    throw new GpuLimitError(
      "maxStorageBufferBindingSize",
      `${what}: ${bytes} bytes exceeds the adapter's maxStorageBufferBindingSize of ${max} bytes (split the tensor or use a smaller batch/size)`,
    );
  }
}

/** Checks a tensor fits one buffer (tensors only buffer copies read may exceed one binding). */
export function checkBufferSize(ctx: GpuContext, bytes: number, what: string): void {
  const max = ctx.caps.limits.maxBufferSize;
  if (bytes > max) {
    throw new GpuLimitError("maxBufferSize", `${what}: ${bytes} bytes exceeds the adapter's maxBufferSize of ${max} bytes`);
  }
}

/** Host data accepted by `upload` for each dtype. */
export type HostData = Float32Array | Int32Array | Uint32Array | Uint16Array | number[];

/** Converts host values to the bytes a tensor of `dtype` stores (f16 from floats is rounded to nearest even). */
export function encodeHost(data: HostData, dtype: DType, count: number): Uint8Array<ArrayBuffer> {
  // f32 data already in a Float32Array is written as is (a view, no copy: weights are GBs).
  if (dtype === "f32" && data instanceof Float32Array && data.length === count && data.buffer instanceof ArrayBuffer) {
    return new Uint8Array(data.buffer, data.byteOffset, count * 4);
  }
  const bytes = new Uint8Array(storageBytes([count], dtype));
  switch (dtype) {
    case "f32":
      new Float32Array(bytes.buffer).set(data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
      break;
    case "f16": {
      const out = new Uint16Array(bytes.buffer, 0, count);
      if (data instanceof Uint16Array) out.set(data);
      else if (data instanceof Float32Array) narrowF32(data.subarray(0, count), out);
      else for (let i = 0; i < count; i++) out[i] = f32ToF16Bits((data as ArrayLike<number>)[i]!);
      break;
    }
    case "i32":
      new Int32Array(bytes.buffer).set(data as ArrayLike<number>);
      break;
    case "u32":
    case "i8x4":
    case "i4x8":
      // Packed weights arrive as their u32 words already.
      new Uint32Array(bytes.buffer).set(data as ArrayLike<number>);
      break;
  }
  return bytes;
}

/** Host element count a `upload` of this shape and dtype expects (words for packed dtypes). */
export function hostLength(shape: readonly number[], dtype: DType): number {
  return dtype === "i8x4" || dtype === "i4x8" ? Math.ceil((numel(shape) * DTYPE_BITS[dtype]) / 32) : numel(shape);
}

export function checkHostLength(shape: readonly number[], dtype: DType, data: HostData): void {
  const want = hostLength(shape, dtype);
  if (data.length !== want) {
    throw new OpInputError("upload", `shape [${shape}] ${dtype} needs ${want} host values, got ${data.length}`);
  }
}

/** Decodes read-back bytes to float32 (f16 widened) or the integer view. */
export function decodeHost(bytes: Uint8Array, dtype: DType, count: number): Float32Array | Int32Array | Uint32Array {
  const copy = bytes.slice().buffer;
  switch (dtype) {
    case "f32":
      return new Float32Array(copy, 0, count);
    case "f16": {
      return widenF16(new Uint16Array(copy, 0, count));
    }
    case "i32":
      return new Int32Array(copy, 0, count);
    default:
      return new Uint32Array(copy, 0, Math.ceil((count * DTYPE_BITS[dtype]) / 32));
  }
}

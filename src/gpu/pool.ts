import type { GpuContext } from "./device.ts";
import { GpuLimitError } from "./errors.ts";

/** Size classes: powers of two from 256 B, with quarter steps above 1 MiB so big buffers waste ≤ 25 %. */
export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  let p = min;
  while (p * 2 < bytes) p *= 2;
  if (p * 2 === bytes || p < 1 << 20) return p * 2;
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/** A plan's arena reuses a free buffer up to this many times bigger than asked (see arenaBestFit). */
const ARENA_REUSE_FACTOR = 4;

/**
 * Storage buffers recycled by size class. `live` counts bytes handed out, `held` bytes owned (live
 * plus cached free buffers); `peakLive` is the high-water mark a memory report quotes.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** While a plan records, its buffers come from and return to this arena (see `beginArena`). */
  private arena?: Arena;
  private sizes = new WeakMap<GPUBuffer, number>();
  /** Size class → the `trimUnused` period it was last acquired in (see there). */
  private lastUse = new Map<number, number>();
  private period = 0;
  live = 0;
  held = 0;
  peakLive = 0;

  /** Set when the pool's only user is gone: released buffers are destroyed instead of cached. */
  destroyOnRelease = false;

  /** Run before any buffer is destroyed: submits work still encoded that may use it (set by Gpu). */
  beforeDestroy: () => void = () => {};

  constructor(private readonly ctx: GpuContext) {}

  /**
   * A buffer of at least `bytes`. `exact` skips the size classes (up to 25 % slack above 1 MiB):
   * long-lived tensors such as weights are never recycled into other shapes, so they take what they need.
   */
  acquire(bytes: number, label = "tensor", exact = false): GPUBuffer {
    const maxBuffer = this.ctx.caps.limits.maxBufferSize;
    if (bytes > maxBuffer) {
      throw new GpuLimitError("maxBufferSize", `${label}: needs a ${bytes}-byte buffer, over the adapter's maxBufferSize of ${maxBuffer} bytes`);
    }
    // Near the limit a size class could overshoot it: then take exactly what is needed.
    const cls = exact ? Math.ceil(bytes / 16) * 16 : sizeClass(bytes);
    const size = cls <= maxBuffer ? cls : Math.ceil(bytes / 4) * 4;
    const list = (this.arena?.free ?? this.free).get(size);
    let buf = list?.pop() ?? (this.arena ? (this.arenaBestFit(size) ?? this.free.get(size)?.pop()) : undefined);
    if (!buf) {
      buf = this.ctx.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label,
      });
      this.held += size;
      this.sizes.set(buf, size);
    }
    this.live += this.sizes.get(buf)!;
    this.lastUse.set(this.sizes.get(buf)!, this.period);
    if (this.live > this.peakLive) this.peakLive = this.live;
    this.arena?.owned.add(buf);
    return buf;
  }

  /**
   * A recording plan's free buffer of another size class that can hold `size` bytes (the smallest, at
   * most ARENA_REUSE_FACTOR times bigger): the UNet's levels use different sizes, and without this
   * the arena holds every level's peak at once (SD-Turbo at 512²: 237 MB arena for 95 MB live).
   */
  private arenaBestFit(size: number): GPUBuffer | undefined {
    let best: number | undefined;
    for (const [cls, list] of this.arena!.free) {
      if (list.length && cls > size && cls <= size * ARENA_REUSE_FACTOR && (best === undefined || cls < best)) best = cls;
    }
    return best === undefined ? undefined : this.arena!.free.get(best)!.pop();
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error("BufferPool.release: buffer was not acquired from this pool");
    this.live -= size;
    if (this.arena?.pinned.has(buf)) {
      // A constant the recording plan reads at every replay: never reused while it records; the plan's scratch after.
      this.arena.pinnedFree.push(buf);
      return;
    }
    if (this.destroyOnRelease && !this.arena) {
      this.beforeDestroy();
      buf.destroy();
      this.held -= size;
      return;
    }
    const lists = this.arena?.owned.has(buf) ? this.arena.free : this.free;
    let list = lists.get(size);
    if (!list) lists.set(size, (list = []));
    list.push(buf);
  }

  /**
   * Starts an arena: buffers acquired until `endArena()` belong to it, and buffers it releases are
   * reused only inside it. A recorded plan owns its arena, so replaying the plan can never clobber
   * a tensor allocated elsewhere, while intermediates still share buffers by liveness.
   */
  beginArena(): void {
    if (this.arena) throw new Error("BufferPool: arenas do not nest (a plan is already recording)");
    this.arena = { owned: new Set(), free: new Map(), pinned: new Set(), pinnedFree: [] };
  }

  /** Keeps an arena buffer out of reuse while the plan records (it holds data uploaded once, read at every replay). */
  pin(buf: GPUBuffer): void {
    this.arena?.pinned.add(buf);
  }

  /** Ends the arena; returns the buffers it owns that are not live (the plan's scratch, pinned constants included). */
  endArena(): { owned: GPUBuffer[]; scratch: GPUBuffer[] } {
    const a = this.arena;
    if (!a) throw new Error("BufferPool: no arena to end");
    this.arena = undefined;
    const scratch = [...a.free.values()].flat().concat(a.pinnedFree);
    return { owned: [...a.owned], scratch };
  }

  /** Gives a finished plan's scratch buffers back to the shared free lists (their bytes are not live). */
  releaseScratch(buffers: GPUBuffer[]): void {
    for (const b of buffers) {
      const size = this.sizes.get(b)!;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(b);
    }
  }

  /** Scratch bytes held by plans (not live, not reusable until the plan is disposed). */
  sizeOf(buf: GPUBuffer): number {
    return this.sizes.get(buf) ?? 0;
  }

  /**
   * Ends a period of use (a generate() call): while the cached free buffers exceed `keepBytes`, destroys those of
   * size classes not acquired in this period, largest first. A run of one shape keeps its cache; buffers cached for
   * sizes no longer in use (an app that moved from 1024² to 512²) stop adding up without bound.
   */
  trimUnused(keepBytes: number): void {
    this.beforeDestroy();
    let free = 0;
    for (const [size, list] of this.free) free += size * list.length;
    const idle = [...this.free.keys()].filter((size) => this.lastUse.get(size) !== this.period).sort((a, b) => b - a);
    for (const size of idle) {
      if (free <= keepBytes) break;
      const list = this.free.get(size)!;
      for (const b of list) b.destroy();
      this.held -= size * list.length;
      free -= size * list.length;
      this.free.delete(size);
    }
    this.period++;
  }

  /** Destroys cached free buffers (live ones stay). */
  trim(): void {
    this.beforeDestroy();
    for (const [size, list] of this.free) {
      for (const b of list) {
        b.destroy();
        this.held -= size;
      }
    }
    this.free.clear();
  }
}

interface Arena {
  owned: Set<GPUBuffer>;
  free: Map<number, GPUBuffer[]>;
  /** Buffers uploaded while recording (see pin), and those of them released since. */
  pinned: Set<GPUBuffer>;
  pinnedFree: GPUBuffer[];
}

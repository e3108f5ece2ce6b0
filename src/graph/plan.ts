import type { Gpu, RecordedDispatch } from "../gpu/runtime.ts";
import { Tensor } from "../gpu/tensor.ts";

/**
 * A static graph recorded once and replayed many times (every denoising step): the flat list of
 * (pipeline, bind group, grid) a first eager run of the model produced, replayed into one command
 * encoder and one compute pass with no allocation and no read-back. Its intermediates live in a
 * private arena whose buffers were shared by liveness while recording (model code disposes each
 * tensor when it is dead), so peak memory stays near the largest live set.
 *
 * Inputs are tensors created before recording; write new values with `gpu.write(input, data)` and
 * call `run()`. Outputs are the tensors the recorded function returned; they belong to the plan
 * (do not dispose them; `plan.dispose()` does).
 */
export class Plan<Out> {
  private disposed = false;

  constructor(
    private readonly gpu: Gpu,
    readonly dispatches: readonly RecordedDispatch[],
    readonly outputs: Out,
    private readonly owned: GPUBuffer[],
    private readonly scratch: GPUBuffer[],
    private readonly uniformBuffers: GPUBuffer[],
    /** Bytes of buffers the plan holds (its intermediates' arena). */
    readonly arenaBytes: number,
  ) {}

  /** Records all dispatches into one pass of the current encoder; submitted on the next flush/read. */
  run(): void {
    if (this.disposed) throw new Error("Plan.run(): the plan was disposed");
    // Its dispatches go straight to the queue: inside another plan's recording they would not be part of it.
    if (this.gpu.recorder) throw new Error("Plan.run(): not while another plan records (plans do not nest)");
    this.gpu.flush();
    const encoder = this.gpu.device.createCommandEncoder({ label: "plan" });
    const pass = encoder.beginComputePass({ label: "plan" });
    for (const d of this.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup, d.dynamicOffsets);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
    this.gpu.ctx.check("plan run");
  }

  /**
   * Debug run: dispatch by dispatch, reading every written tensor back and throwing at the first
   * NaN/Inf with the module scope and kernel that produced it. Slow; for diagnosis only.
   */
  async runCheckingFinite(): Promise<void> {
    if (this.disposed) throw new Error("Plan.runCheckingFinite(): the plan was disposed");
    if (this.gpu.recorder) throw new Error("Plan.runCheckingFinite(): not while another plan records (plans do not nest)");
    this.gpu.flush(); // eager work encoded before must run first, as in run()
    for (const [i, d] of this.dispatches.entries()) {
      const encoder = this.gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup, d.dynamicOffsets);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      pass.end();
      this.gpu.device.queue.submit([encoder.finish()]);
      this.gpu.ctx.check(`plan dispatch ${i} (${d.label})`);
      for (const t of d.outputs) {
        if (t.dtype !== "f32" && t.dtype !== "f16") continue;
        // The recorded tensor was disposed while recording (the arena shares its buffer by liveness); right after the
        // dispatch that wrote it, the buffer holds exactly its values: read them through a fresh handle.
        const v = await this.gpu.read(new Tensor(t.shape, t.dtype, t.buffer, t.byteOffset, t.byteLength));
        const bad = v.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) {
          throw new Error(`non-finite value ${v[bad]} at element ${bad} of ${t}, written by dispatch ${i} (${d.label}) in module "${d.scope || "(top)"}"`);
        }
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.uniformBuffers) b.destroy();
    // Outputs and scratch go back to the shared pool once the plan can no longer replay. An output that is not the
    // plan's own (an input the recorded function returned) stays with its owner.
    const own = new Set(this.owned);
    for (const t of collectTensors(this.outputs)) if (own.has(t.buffer)) t.dispose();
    this.gpu.pool.releaseScratch(this.scratch);
    void this.owned;
  }
}

function collectTensors(x: unknown): Tensor[] {
  if (!x || typeof x !== "object") return [];
  if ("buffer" in x && "shape" in x && "dtype" in x) return [x as Tensor];
  return Object.values(x as Record<string, unknown>).flatMap(collectTensors);
}

/**
 * Runs `fn` once eagerly while recording its dispatches, and returns the plan that replays them.
 * `fn` must only call ops on tensors (no CPU read-backs, no uploads of per-call data: pass such
 * data as input tensors created before recording).
 */
export async function recordPlan<Out>(gpu: Gpu, fn: () => Promise<Out>): Promise<Plan<Out>> {
  if (gpu.recorder) throw new Error("recordPlan: plans do not nest");
  gpu.flush();
  const recorder = { dispatches: [] as RecordedDispatch[], uniformBuffers: [] as GPUBuffer[] };
  gpu.recorder = recorder;
  gpu.pool.beginArena();
  let out: Out;
  let arena: { owned: GPUBuffer[]; scratch: GPUBuffer[] };
  try {
    out = await fn();
  } catch (e) {
    gpu.recorder = undefined;
    // Submit what fn encoded before its buffers go back (a later trim() would destroy them under pending work);
    // a flush that fails too must not hide fn's error.
    try {
      gpu.flush();
    } catch {
      /* fn's error is the one to report */
    }
    const failed = gpu.pool.endArena();
    // The arena owns what fn left live when it threw (tensors no caller holds any more) and its scratch: all of it
    // goes back to the pool, and the plan's uniform buffers are destroyed, so a failed recording leaks nothing.
    const scratch = new Set(failed.scratch);
    for (const b of failed.owned) if (!scratch.has(b)) gpu.pool.release(b);
    gpu.pool.releaseScratch(failed.scratch);
    for (const u of recorder.uniformBuffers) u.destroy();
    throw e;
  }
  gpu.recorder = undefined;
  arena = gpu.pool.endArena();
  gpu.flush();
  const bytes = arena.owned.reduce((a, b) => a + gpu.pool.sizeOf(b), 0);
  return new Plan(gpu, recorder.dispatches, out, arena.owned, arena.scratch, recorder.uniformBuffers, bytes);
}

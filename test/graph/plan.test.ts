import { describe, expect, it } from "vitest";
import { recordPlan } from "../../src/graph/plan.ts";
import { add } from "../../src/ops/binary.ts";
import { activation } from "../../src/ops/activation.ts";
import { scale } from "../../src/ops/scale.ts";
import { testGpu } from "../helpers/gpu.ts";
import { seeded } from "../cases/random.ts";

describe("plan recording and replay", () => {
  it("replays the recorded dispatches on new input values, with intermediates sharing buffers by liveness", async () => {
    const gpu = await testGpu();
    const n = 1000;
    const x = gpu.upload(seeded(n, 1), [n]);
    const bias = gpu.upload(seeded(n, 2), [n]);
    // y = silu(2x + 1) + bias through three intermediates; each dies right after its use.
    const plan = await recordPlan(gpu, async () => {
      const a = await scale(gpu, x, 2, 1);
      const b = await activation(gpu, "silu", a);
      a.dispose();
      const c = await add(gpu, b, bias);
      b.dispose();
      return { y: c };
    });
    expect(plan.dispatches.map((d) => d.label)).toEqual(["scale_f32", "activation_silu_f32", "binary_add_f32"]);
    // a and c can share one buffer (a is dead before c is born): 2 buffers of the 4 KiB class, not 3.
    expect(plan.arenaBytes).toBe(2 * 4096);
    const ref = (xs: Float32Array) => Array.from(xs, (v, i) => {
      const u = 2 * v + 1;
      return u / (1 + Math.exp(-u)) + bias0[i]!;
    });
    const bias0 = seeded(n, 2);
    for (const seed of [3, 4]) {
      const input = seeded(n, seed);
      gpu.write(x, input);
      plan.run();
      const got = await gpu.read(plan.outputs.y);
      const want = ref(input);
      const err = Math.max(...got.map((g, i) => Math.abs(g - want[i]!)));
      expect(err).toBeLessThan(1e-5);
    }
    const live = gpu.pool.live;
    plan.dispose();
    expect(gpu.pool.live).toBeLessThan(live);
    x.dispose();
    bias.dispose();
  });

  it("a recording that throws gives back what it left live and its scratch (all of it trimmable) and records nothing", async () => {
    const gpu = await testGpu();
    gpu.pool.trim();
    const x = gpu.upload(seeded(1000, 1), [1000]);
    const [live, held] = [gpu.pool.live, gpu.pool.held];
    await expect(recordPlan(gpu, async () => {
      const a = await scale(gpu, x, 2, 1);
      const b = await activation(gpu, "silu", a);
      a.dispose(); // scratch of the arena
      await add(gpu, b, x); // left live, as an op that throws mid-model leaves its inputs
      throw new Error("op failed");
    })).rejects.toThrow("op failed");
    expect(gpu.recorder).toBeUndefined();
    expect(gpu.pool.live).toBe(live);
    gpu.pool.trim();
    expect(gpu.pool.held).toBe(held); // nothing stranded outside the free lists
    x.dispose();
  });

  it("reuses a dead intermediate of a bigger size class (up to 4x) instead of growing the arena", async () => {
    const gpu = await testGpu();
    gpu.pool.trim(); // no cached free buffers from earlier tests: the arena starts from nothing
    const [big, small, tiny] = [4000, 1000, 10].map((n, i) => gpu.upload(seeded(n, 5 + i), [n]));
    const plan = await recordPlan(gpu, async () => {
      const a = await scale(gpu, big!, 2, 0); // 16 KiB class
      a.dispose();
      const c = await scale(gpu, small!, 3, 0); // 4 KiB: takes a's buffer
      const d = await scale(gpu, tiny!, 3, 0); // 256 B: 64x smaller than any free buffer, gets its own
      return { c, d };
    });
    expect(plan.arenaBytes).toBe(16384 + 256);
    gpu.write(small!, seeded(1000, 9));
    plan.run();
    const got = await gpu.read(plan.outputs.c);
    expect(got.length).toBe(1000);
    expect(Math.max(...got.map((g, i) => Math.abs(g - Math.fround(3 * seeded(1000, 9)[i]!))))).toBe(0);
    plan.dispose();
    for (const t of [big, small, tiny]) t!.dispose();
  });

  it("names the module and kernel that first produced a non-finite value", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(new Float32Array([1, 2, 3]), [3]);
    const plan = await recordPlan(gpu, async () =>
      gpu.scope("block.0", async () => {
        const a = await scale(gpu, x, 1e30);
        const b = await scale(gpu, a, 1e30); // overflows to Inf here
        a.dispose();
        return b;
      }),
    );
    await expect(plan.runCheckingFinite()).rejects.toThrow(/dispatch 1 \(scale_f32\) in module "block\.0"/);
    plan.dispose();
    x.dispose();
  });
});

describe("plans and buffers under unusual but legal use (session 18 review)", () => {
  it("a constant uploaded while recording (gatherRows' indices) keeps its bytes for every replay", async () => {
    const { gatherRows } = await import("../../src/ops/gather.ts");
    const gpu = await testGpu();
    const [rows, width, idx] = [8, 16, [3, 1, 7, 0]];
    const table = gpu.upload(seeded(rows * width, 1), [rows, width]);
    const plan = await recordPlan(gpu, async () => {
      const g = await gatherRows(gpu, table, idx); // uploads its index tensor and disposes it
      const s = await scale(gpu, g, 2, 0); // before: took the index's buffer, so replays gathered with garbage
      g.dispose();
      const t = await scale(gpu, s, 1, 5);
      s.dispose();
      return t;
    });
    const values = seeded(rows * width, 2);
    gpu.write(table, values);
    plan.run();
    const want = idx.flatMap((r) => Array.from({ length: width }, (_, c) => Math.fround(Math.fround(2 * values[r * width + c]!) + 5)));
    expect(Array.from(await gpu.read(plan.outputs))).toEqual(want);
    plan.dispose();
    table.dispose();
  });

  it("refuses what a replay would not repeat or what would kill the device, with a message", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(seeded(64, 3), [64]);
    // A write or another plan's run inside a recording: a replay would skip them.
    const inner = await recordPlan(gpu, async () => scale(gpu, x, 2, 0));
    await expect(recordPlan(gpu, async () => (gpu.write(x, seeded(64, 4)), scale(gpu, x, 1, 0)))).rejects.toThrow(/write: not recordable in a plan/);
    await expect(recordPlan(gpu, async () => (inner.run(), scale(gpu, x, 1, 0)))).rejects.toThrow(/Plan.run\(\): not while another plan records/);
    // A copy within one buffer (WebGPU refuses it and the device would be lost).
    expect(() => gpu.copy(x, x.view([64]))).toThrow(/source and destination share one GPU buffer/);
    // Disposed tensors and views of them: their buffers may hold other tensors by now.
    const dead = gpu.upload(seeded(64, 5), [64]);
    const view = dead.view([8, 8]);
    dead.dispose();
    await expect(gpu.read(dead)).rejects.toThrow(/used after dispose/);
    expect(() => gpu.write(dead, seeded(64, 6))).toThrow(/used after dispose/);
    expect(() => gpu.copy(x, dead)).toThrow(/used after dispose/);
    await expect(scale(gpu, view, 2, 0)).rejects.toThrow(/used after dispose\(\) of the tensor it views/);
    // A view of a reshaped tensor lives as long as the tensor that took the buffer over.
    const a = gpu.upload(seeded(64, 7), [64]);
    const av = a.view([2, 32]);
    const b = a.reshape([4, 16]);
    expect(Array.from(await gpu.read(av))).toEqual(Array.from(await gpu.read(b)));
    b.dispose();
    expect(av.isDisposed).toBe(true);
    // The device is still fine.
    expect(Array.from(await gpu.read(await scale(gpu, x, 1, 1)))).toEqual(Array.from(seeded(64, 3), (v) => Math.fround(v + 1)));
    await expect(inner.runCheckingFinite()).resolves.toBeUndefined();
    inner.dispose();
    await expect(inner.runCheckingFinite()).rejects.toThrow(/disposed/);
    x.dispose();
  });

  it("a plan that returns its input leaves it to its owner; trimming with work still encoded keeps the device", async () => {
    const gpu = await testGpu();
    const x = gpu.upload(seeded(32, 8), [32]);
    const plan = await recordPlan(gpu, async () => ({ x, y: await scale(gpu, x, 3, 0) }));
    plan.dispose();
    expect(x.isDisposed).toBe(false);
    expect(Array.from(await gpu.read(x))).toEqual(Array.from(seeded(32, 8)));
    // A dispatch encoded, not yet submitted, whose output is disposed at once: trim() destroys cached buffers, so it
    // must submit first (before: "used in submit while destroyed", and the device was lost).
    const y = await scale(gpu, x, 2, 0);
    y.dispose();
    gpu.pool.trim();
    gpu.pool.trimUnused(0);
    expect(Array.from(await gpu.read(await scale(gpu, x, 1, 0)))).toEqual(Array.from(seeded(32, 8)));
    x.dispose();
  });
});

describe("two Gpus on one device (pipelines and a CLIP scorer share the device by default)", () => {
  it("run work in the order it was encoded: one reads the other's result that is still unsubmitted", async () => {
    const { Gpu } = await import("../../src/gpu/runtime.ts");
    const gpu = await testGpu();
    const other = new Gpu(gpu.ctx);
    const values = seeded(256, 11);
    const x = gpu.upload(values, [256]);
    const y = await scale(gpu, x, 2, 0); // encoded on gpu, not submitted
    const z = await scale(other, y, 1, 0); // before: other submitted first and read y's old bytes (NaN poison or 0)
    expect(Array.from(await other.read(z))).toEqual(Array.from(values, (v) => Math.fround(2 * v)));
    for (const t of [x, y, z]) t.dispose();
  });
});

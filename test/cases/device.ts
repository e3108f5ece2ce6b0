/** Device-layer cases (registry, bindings, errors, profiling, pool), shared by Node and browser runs. */
import { createDevice } from "../../src/gpu/device.ts";
import { KernelRegistry } from "../../src/gpu/kernel-registry.ts";
import { defineKernel, dtypeDefines } from "../../src/gpu/kernel.ts";
import { Gpu } from "../../src/gpu/runtime.ts";
import { activationKernel, activation } from "../../src/ops/activation.ts";
import { scale } from "../../src/ops/scale.ts";
import { assert, assertRejects } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";

const brokenShaders: Record<string, string> = {
  "broken.wgsl": ['#include "include/broken_inc.wgsl"', "@group(0) @binding(0) var<storage, read_write> y: array<f32>;", "@compute @workgroup_size(1) fn main() { y[0] = helper(); }"].join("\n"),
  "include/broken_inc.wgsl": ["// a helper with a type error on line 3 of this include", "fn helper() -> f32 {", "  return vec2<f32>(1.0, 2.0);", "}"].join("\n"),
};
const brokenKernel = defineKernel<Record<string, never>>({ name: "broken", file: "broken.wgsl", defines: () => ({}), label: () => "broken" });

export const deviceCases: KernelCase[] = [
  {
    name: "a shader compile error names the .wgsl file and line (through #include)",
    async run(gpu) {
      const registry = new KernelRegistry(gpu.ctx, (f) => brokenShaders[f] ?? "");
      await assertRejects(registry.get(brokenKernel, {}), /shaders\/include\/broken_inc\.wgsl:3:\d+: .*/, "compile error");
    },
  },
  {
    name: "binding mismatches name the shader, binding, expected and found",
    async run(gpu) {
      const k = await gpu.kernel(activationKernel, { act: "silu", dtype: "f32" });
      const x = gpu.upload(seeded(4, 1), [4]);
      const y = gpu.empty([4], "f32");
      await assertRejects(() => gpu.dispatch(k, { x, out: y }, { count: 4 }, [1]), /shaders\/activation\.wgsl.*binding 2 "y".*not bound.*\[x, out\]/, "missing binding");
      await assertRejects(() => gpu.dispatch(k, { x, y, z: y }, { count: 4 }, [1]), /bound \[z\] which the shader does not declare/, "extra binding");
      await assertRejects(() => gpu.dispatch(k, { x, y }, undefined, [1]), /uniform struct but the op passed no uniforms/, "no uniforms");
      await assertRejects(() => gpu.dispatch(k, { x, y }, { count: 4 }, [70000]), /maxComputeWorkgroupsPerDimension/, "grid limit");
      x.dispose();
      y.dispose();
    },
  },
  {
    name: "pipelines are cached by (shader, specialization)",
    async run(gpu) {
      const a = await gpu.kernel(activationKernel, { act: "gelu_tanh", dtype: "f32" });
      const before = gpu.kernels.compiled;
      const b = await gpu.kernel(activationKernel, { act: "gelu_tanh", dtype: "f32" });
      const c = await gpu.kernel(activationKernel, { act: "quick_gelu", dtype: "f32" });
      assert(a === b, "same key must return the cached pipeline");
      assert(c !== a && c.label === "activation_quick_gelu_f32", `distinct key → distinct pipeline, got ${c.label}`);
      assert(gpu.kernels.compiled <= before + 1, "cache hit compiled again");
    },
  },
  {
    name: "pool reuses buffers by size class and live bytes return to zero",
    async run(gpu) {
      const live0 = gpu.pool.live;
      const t1 = gpu.empty([1000], "f32");
      const buf = t1.buffer;
      t1.dispose();
      const t2 = gpu.empty([1001], "f32"); // same 4 KiB class
      assert(t2.buffer === buf, "a buffer of the same size class should be reused");
      t2.dispose();
      // Weights take exact-size buffers (16-byte aligned), not a size class with up to 25 % slack.
      const w = gpu.empty([1_000_003], "f32", "weight", { exact: true });
      assert(w.buffer.size === Math.ceil((4 * 1_000_003) / 16) * 16, `exact buffer is ${w.buffer.size} bytes`);
      const c = gpu.empty([1_000_003], "f32", "activation");
      assert(c.buffer.size > w.buffer.size, `size-class buffer ${c.buffer.size} should exceed the exact one`);
      w.dispose();
      c.dispose();
      assert(gpu.pool.live === live0, `live bytes ${gpu.pool.live} != ${live0} after dispose`);
    },
  },
  {
    name: "reused bind groups read each dispatch's own uniforms, and buffers freed by a pool trim are not reused through them",
    async run(gpu) {
      // 300 dispatches of one kernel on the same x in one submit: one cached bind group, 300 uniform slices
      // (dynamic offsets). A wrong offset would hand one dispatch another's alpha.
      const x = gpu.upload(new Float32Array([1, 2, 3]), [3]);
      const ys = [];
      for (let i = 0; i < 300; i++) ys.push(await scale(gpu, x, i, -i));
      for (const i of [0, 1, 150, 299]) {
        const got = Array.from(await gpu.read(ys[i]!));
        const want = [1, 2, 3].map((v) => v * i - i);
        assert(got.every((g, j) => g === want[j]), `dispatch ${i}: got [${got}], want [${want}]`);
      }
      for (const y of ys) y.dispose();
      x.dispose();
      // Destroy every free pool buffer (those the cached bind groups bind), then compute again on new buffers.
      gpu.pool.trim();
      const x2 = gpu.upload(new Float32Array([4, 5, 6]), [3]);
      const y2 = await scale(gpu, x2, 2, 1);
      const got = Array.from(await gpu.read(y2));
      assert(got.join() === "9,11,13", `after a trim: got [${got}], want [9, 11, 13]`);
      x2.dispose();
      y2.dispose();
    },
  },
  {
    name: "profiling returns per-kernel times",
    async run(gpu) {
      const x = gpu.upload(seeded(100_000, 3), [100_000]);
      gpu.startProfiling();
      const y = await activation(gpu, "silu", x);
      const z = await scale(gpu, y, 2);
      const times = await gpu.stopProfiling();
      const labels = times.map((t) => t.label).sort();
      assert(labels.join() === "activation_silu_f32,scale_f32", `profiled labels ${labels}`);
      assert(times.every((t) => t.calls === 1 && t.totalMs > 0 && Number.isFinite(t.totalMs)), `times ${JSON.stringify(times)}`);
      for (const t of [x, y, z]) t.dispose();
    },
  },
  {
    name: "a lost device surfaces as a thrown error, not a hang",
    async run() {
      const ctx = await createDevice();
      const gpu = new Gpu(ctx);
      const t = gpu.upload(seeded(16, 1), [16]);
      ctx.destroy();
      await assertRejects(gpu.read(t), /destroyed|lost|Device|device/, "read after loss");
    },
  },
];

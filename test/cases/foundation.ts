/**
 * Foundation kernel cases, run by vitest in Node (Dawn + lavapipe) and by the headless Chromium
 * page (SwiftShader). Each case throws on failure. Inputs are seeded, sizes deliberately not
 * multiples of the workgroup size, outputs poisoned with NaN before the kernels write them.
 */
import type { Gpu } from "../../src/gpu/runtime.ts";
import type { Tensor } from "../../src/gpu/tensor.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../src/gpu/dtype.ts";
import { activation, ACTIVATIONS, type Activation } from "../../src/ops/activation.ts";
import { add, mul } from "../../src/ops/binary.ts";
import { scale } from "../../src/ops/scale.ts";
import { softmax } from "../../src/ops/softmax.ts";
import { upsampleNearest2x } from "../../src/ops/upsample.ts";
import { concatChannels } from "../../src/ops/concat.ts";
import { assert, assertClose, assertRejects } from "./assert.ts";
import { seeded } from "./random.ts";

export interface KernelCase {
  name: string;
  run(gpu: Gpu): Promise<void>;
}

type F = "f32" | "f16";
const roundF16 = (a: Float32Array) => a.map((v) => f16BitsToF32(f32ToF16Bits(v)));

/** Float64 references, written from the definitions (not from our WGSL). */
function erf64(x: number): number {
  // Series/continued-fraction-free high-precision erf via Abramowitz–Stegun 7.1.28-free approach:
  // integrate with the Taylor series for |x| < 3, asymptotic erfc beyond (error < 1e-14 here).
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = 0;
    let term = ax;
    for (let n = 0; n < 200; n++) {
      const t = term / (2 * n + 1);
      sum += t;
      term *= (-ax * ax) / (n + 1);
      if (Math.abs(t) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for large |x|.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let i = 1; i < 300; i++) {
    const a = i / 2;
    d = ax + a * d;
    c = ax + a / c;
    d = 1 / d;
    f *= c * d;
  }
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}
export const ACT64: Record<Activation, (x: number) => number> = {
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu_erf: (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  quick_gelu: (x) => x / (1 + Math.exp(-1.702 * x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Math.max(x, 0),
  tanh: (x) => Math.tanh(x),
};

// Elementwise bound in f32: README's 1e-6 (relative to max(|ref|,1)). In f16 only the output
// rounding (2^-11 relative) adds to it, since the reference starts from the f16-rounded input.
const TOL: Record<F, number> = { f32: 1e-6, f16: 1e-3 };

async function upload(gpu: Gpu, data: Float32Array, shape: number[], dtype: F): Promise<{ t: Tensor; host: Float32Array }> {
  const host = dtype === "f16" ? roundF16(data) : data;
  return { t: gpu.upload(host, shape, dtype), host };
}

function dtypes(gpu: Gpu): F[] {
  return gpu.ctx.caps.f16 ? ["f32", "f16"] : ["f32"];
}

export const foundationCases: KernelCase[] = [
  {
    name: "activations vs float64 on 1, 255, 257 and 4099 elements",
    async run(gpu) {
      for (const dtype of dtypes(gpu)) {
        for (const n of [1, 255, 257, 4099]) {
          const { t, host } = await upload(gpu, seeded(n, n, -12, 12), [n], dtype);
          for (const act of ACTIVATIONS) {
            const y = await activation(gpu, act, t);
            assert(y.dtype === dtype && y.shape.join() === `${n}`, `${act}: output ${y}`);
            assertClose(await gpu.read(y), Array.from(host, ACT64[act]), TOL[dtype], `${act} ${dtype} n=${n}`);
            y.dispose();
          }
          t.dispose();
        }
      }
    },
  },
  {
    name: "add/mul with broadcasting, scale",
    async run(gpu) {
      for (const dtype of dtypes(gpu)) {
        const shapeA = [2, 3, 5, 7];
        const a = await upload(gpu, seeded(210, 1), shapeA, dtype);
        const bias = await upload(gpu, seeded(3, 2), [3, 1, 1], dtype);
        const row = await upload(gpu, seeded(7, 3), [7], dtype);
        const tol = dtype === "f16" ? 1e-3 : 1e-7;
        const y1 = await add(gpu, a.t, bias.t);
        assertClose(await gpu.read(y1), Array.from(a.host, (v, i) => v + bias.host[Math.floor(i / 35) % 3]!), tol, `add per-channel ${dtype}`);
        const y2 = await mul(gpu, row.t, a.t);
        assert(y2.shape.join() === shapeA.join(), `mul broadcast shape ${y2.shape}`);
        assertClose(await gpu.read(y2), Array.from(a.host, (v, i) => v * row.host[i % 7]!), tol, `mul row ${dtype}`);
        const y3 = await scale(gpu, a.t, 0.18215, -0.5);
        assertClose(await gpu.read(y3), Array.from(a.host, (v) => v * 0.18215 - 0.5), tol, `scale ${dtype}`);
        for (const t of [a.t, bias.t, row.t, y1, y2, y3]) t.dispose();
      }
    },
  },
  {
    name: "softmax over rows of 1, 3, 77, 1030 and 5000",
    async run(gpu) {
      for (const dtype of dtypes(gpu)) {
        for (const [rows, cols] of [[3, 1], [5, 3], [7, 77], [2, 1030], [1, 5000]] as const) {
          const { t, host } = await upload(gpu, seeded(rows * cols, cols, -8, 8), [rows, cols], dtype);
          const want = new Float64Array(rows * cols);
          for (let r = 0; r < rows; r++) {
            const row = host.subarray(r * cols, (r + 1) * cols);
            const m = Math.max(...row);
            const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
            row.forEach((v, c) => (want[r * cols + c] = Math.exp(v - m) / s));
          }
          const y = await softmax(gpu, t);
          assertClose(await gpu.read(y), want, TOL[dtype], `softmax ${rows}x${cols} ${dtype}`);
          t.dispose();
          y.dispose();
        }
      }
    },
  },
  {
    name: "nearest 2x upsample and channel concat are exact",
    async run(gpu) {
      for (const dtype of dtypes(gpu)) {
        const x = await upload(gpu, seeded(2 * 3 * 5 * 7, 9), [2, 3, 5, 7], dtype);
        const y = await upsampleNearest2x(gpu, x.t);
        assert(y.shape.join() === "2,3,10,14", `upsample shape ${y.shape}`);
        const want = new Float32Array(2 * 3 * 10 * 14).map((_, i) => {
          const j = i % 14, r = Math.floor(i / 14) % 10, p = Math.floor(i / 140);
          return x.host[p * 35 + Math.floor(r / 2) * 7 + Math.floor(j / 2)]!;
        });
        assertClose(await gpu.read(y), want, 0, `upsample ${dtype}`);
        const b = await upload(gpu, seeded(2 * 1 * 5 * 7, 10), [2, 1, 5, 7], dtype);
        const c = await concatChannels(gpu, x.t, b.t);
        assert(c.shape.join() === "2,4,5,7", `concat shape ${c.shape}`);
        const wantC = new Float32Array(2 * 4 * 35).map((_, i) => {
          const s = i % 35, ch = Math.floor(i / 35) % 4, n = Math.floor(i / 140);
          return ch < 3 ? x.host[(n * 3 + ch) * 35 + s]! : b.host[n * 35 + s]!;
        });
        assertClose(await gpu.read(c), wantC, 0, `concat ${dtype}`);
        for (const t of [x.t, y, b.t, c]) t.dispose();
      }
    },
  },
  {
    name: "bad input names the op, what it expected and what it got",
    async run(gpu) {
      const a = gpu.upload(seeded(6, 1), [2, 3]);
      const b = gpu.upload(seeded(8, 1), [2, 4]);
      const ints = gpu.upload(new Int32Array(4), [4], "i32");
      const img = gpu.upload(seeded(30, 1), [1, 2, 3, 5]);
      const img2 = gpu.upload(seeded(30, 1), [1, 2, 5, 3]);
      await assertRejects(add(gpu, a, b), /add: shapes \[2, 3\] and \[2, 4\] do not broadcast/, "broadcast");
      await assertRejects(activation(gpu, "silu", ints), /silu: x must be f32 or f16, got i32/, "dtype");
      await assertRejects(upsampleNearest2x(gpu, a), /upsampleNearest2x: x \(NCHW\) must have rank 4, got shape \[2, 3\]/, "rank");
      await assertRejects(concatChannels(gpu, img, img2), /concatChannels: a \[1, 2, 3, 5\] and b \[1, 2, 5, 3\] must agree in N, H, W/, "concat");
      await assertRejects(() => gpu.upload(seeded(5, 1), [2, 3]), /needs 6 host values, got 5/, "upload length");
      const max = gpu.ctx.caps.limits.maxStorageBufferBindingSize;
      await assertRejects(() => gpu.empty([max / 4 + 1], "f32"), /maxStorageBufferBindingSize/, "binding limit");
      for (const t of [a, b, ints, img, img2]) t.dispose();
    },
  },
];

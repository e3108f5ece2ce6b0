/**
 * `npm run demo -- --smoke`: a kernel smoke demo — prints the adapter,
 * its features and limits, runs a few kernels on seeded inputs and checks them against float64.
 */
import { Gpu } from "../gpu/runtime.ts";
import { activation } from "../ops/activation.ts";
import { softmax } from "../ops/softmax.ts";
import { relativeMaxError } from "../verify/compare.ts";

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return ((s >>> 8) / 2 ** 24) * 8 - 4;
  });
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const gpu = await Gpu.create();
  const { caps } = gpu.ctx;
  console.log(`adapter:  ${gpu.ctx.describe()}`);
  console.log(`features: ${caps.features.join(", ")}`);
  for (const [k, v] of Object.entries(caps.limits)) console.log(`limit:    ${k} = ${v}`);

  const n = 1 << 20;
  const x = seeded(n, 42);
  const xt = gpu.upload(x, [1024, 1024]);
  const t1 = performance.now();
  const y = await activation(gpu, "gelu_erf", xt);
  const p = await softmax(gpu, y);
  const got = await gpu.read(p);
  const ms = performance.now() - t1;

  // float64 reference of softmax(gelu_erf(x)) row by row (erf by its Taylor series; |x| ≤ 4 here).
  const erf = (v: number) => {
    let sum = 0, term = v;
    for (let k = 0; k < 80; k++) {
      sum += term / (2 * k + 1);
      term *= (-v * v) / (k + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const want = new Float64Array(n);
  for (let r = 0; r < 1024; r++) {
    const row = Array.from(x.subarray(r * 1024, (r + 1) * 1024), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    row.forEach((v, c) => (want[r * 1024 + c] = Math.exp(v - m) / s));
  }
  const err = relativeMaxError(got, want);
  const ok = err <= 1e-6;
  console.log(`check:    softmax(gelu_erf(x)) on 1024x1024, max error ${err.toExponential(2)} vs float64 (bound 1e-6): ${ok ? "OK" : "FAILED"}`);
  console.log(`time:     ${ms.toFixed(1)} ms for 2 kernels incl. compile; total ${(performance.now() - t0).toFixed(0)} ms`);
  console.log(`memory:   peak ${(gpu.pool.peakLive / 2 ** 20).toFixed(1)} MiB in the buffer pool`);
  return ok ? 0 : 1;
}

export function runSmokeDemo(): Promise<number> {
  return main();
}

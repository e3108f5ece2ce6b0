/**
 * Attention cases run by vitest in Node (Dawn + lavapipe) and by the headless Chromium page (SwiftShader): the tiled
 * flash kernel with each query tile the adapter's workgroup memory holds (GPUs take it; CPU adapters only when asked).
 */
import { attention, attentionWorkgroupBytes, ATTENTION_QUERY_TILES } from "../../src/ops/attention.ts";
import type { Gpu } from "../../src/gpu/runtime.ts";
import { assertClose } from "./assert.ts";
import type { KernelCase } from "./foundation.ts";
import { seeded } from "./random.ts";

/** float64 softmax(q·kᵀ/√d)·v per head, layout [1, L, H·d]. */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, lq: number, lk: number, heads: number, d: number): Float64Array {
  const w = heads * d;
  const out = new Float64Array(lq * w);
  const s = new Float64Array(lk);
  for (let h = 0; h < heads; h++) for (let i = 0; i < lq; i++) {
    let m = -Infinity;
    for (let j = 0; j < lk; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += q[i * w + h * d + c]! * k[j * w + h * d + c]!;
      s[j] = dot / Math.sqrt(d);
      m = Math.max(m, s[j]!);
    }
    let l = 0;
    for (let j = 0; j < lk; j++) l += (s[j] = Math.exp(s[j]! - m));
    for (let j = 0; j < lk; j++) for (let c = 0; c < d; c++) out[i * w + h * d + c]! += (s[j]! / l) * v[j * w + h * d + c]!;
  }
  return out;
}

export const attentionCases: KernelCase[] = [
  {
    name: "tiled attention with its queries shared, restaged per K/V tile and read from storage matches float64 (d64 and d24)",
    async run(gpu: Gpu) {
      // 70 queries (past one 64-query workgroup), 45 keys (a full and a partial K/V tile of 32); d24: the restaged
      // tile's 32 score rows outnumber its 24 query channels.
      for (const [lq, lk, heads, d] of [[70, 45, 2, 64], [70, 45, 1, 24]] as const) {
        const w = heads * d;
        const [qs, ks, vs] = [41, 42, 43].map((seed) => seeded((seed === 41 ? lq : lk) * w, seed + d));
        const q = gpu.upload(qs!, [1, lq, w]);
        const k = gpu.upload(ks!, [1, lk, w]);
        const v = gpu.upload(vs!, [1, lk, w]);
        const want = attentionRef(qs!, ks!, vs!, lq, lk, heads, d);
        const limit = gpu.ctx.caps.limits.maxComputeWorkgroupStorageSize;
        for (const queries of ATTENTION_QUERY_TILES.filter((m) => attentionWorkgroupBytes(d, m) <= limit)) {
          const y = await attention(gpu, q, k, v, heads, { kernel: "tiled", queries });
          // README bound for attention vs float64 (f32 math): 2e-5.
          assertClose(await gpu.read(y), want, 2e-5, `d${d} queries ${queries}`);
          y.dispose();
        }
        for (const t of [q, k, v]) t.dispose();
      }
    },
  },
];

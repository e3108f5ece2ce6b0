/**
 * ONNX Runtime Web (WebGPU EP) as a peer, in Node on Dawn. Each case becomes a tiny ONNX model built
 * in memory (onnx-proto.ts): MatMul for linear (weight as a [K, N] initializer, as exporters write
 * it), com.microsoft MatMulNBits (int4, block = our int4 group size, uint8 zero points) for W4A16, Conv for conv3x3 and
 * MatMul → Softmax → MatMul for attention. Activations are inputs that already live in GPU buffers
 * and the output stays on the GPU ('gpu-buffer'), so a timed run is `await session.run()` plus
 * `onSubmittedWorkDone()` on ORT's device: no upload and no read-back inside the clock.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CaseShape } from "../cases.ts";
import type { Peer } from "../bench.ts";
import type { PreparedRun } from "../timing.ts";
import { seededUniform } from "../random.ts";
import { installNavigatorGpu } from "./node-webgpu.ts";
import { OnnxType, encodeModel, type OnnxGraph, type OnnxValue } from "./onnx-proto.ts";

type Ort = typeof import("onnxruntime-web");


const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Random int4 weights in MatMulNBits layout: B [N, blocks, block/2] bytes (low nibble first), f32 scales, packed uint8 zero points. */
function nbitsWeights(n: number, k: number, block: number): { b: Uint8Array; scales: Float32Array; zeros: Uint8Array } {
  const blocks = k / block;
  const b = new Uint8Array((n * k) / 2);
  const noise = seededUniform(b.length, 7);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor((noise[i]! * 0.5 + 0.5) * 255.99);
  const scales = seededUniform(n * blocks, 8, 0.01).map(Math.abs);
  const zeros = new Uint8Array(n * Math.ceil(blocks / 2)).fill(0x88);
  return { b, scales, zeros };
}

/** The model and the activation inputs of one case, or undefined when ORT has no such op. */
function graphFor(s: CaseShape): { graph: OnnxGraph; feeds: OnnxValue[] } | undefined {
  const F = OnnxType.FLOAT;
  const out = (dims: number[]): OnnxValue => ({ name: "y", dims, type: F });
  switch (s.op) {
    case "linear": {
      const x = { name: "x", dims: [s.m, s.k], type: F };
      const w = seededUniform(s.k * s.n, 2, 1 / Math.sqrt(s.k));
      return {
        feeds: [x],
        graph: { nodes: [{ opType: "MatMul", inputs: ["x", "w"], outputs: ["y"] }], initializers: [{ name: "w", dims: [s.k, s.n], type: F, data: f32Bytes(w) }], inputs: [x], outputs: [out([s.m, s.n])] },
      };
    }
    case "qlinear": {
      // ORT 1.22's WebGPU MatMulNBits is 4-bit only; it is the peer for W4A16 alone.
      if (s.scheme !== "W4A16" || s.groupSize === "per-channel") return undefined;
      const block = s.groupSize;
      const x = { name: "x", dims: [s.m, s.k], type: F };
      const blocks = s.k / block;
      const w = nbitsWeights(s.n, s.k, block);
      return {
        feeds: [x],
        graph: {
          nodes: [{ opType: "MatMulNBits", domain: "com.microsoft", inputs: ["x", "b", "scales", "zeros"], outputs: ["y"], attrs: { K: s.k, N: s.n, bits: 4, block_size: block } }],
          initializers: [
            { name: "b", dims: [s.n, blocks, block / 2], type: OnnxType.UINT8, data: w.b },
            { name: "scales", dims: [s.n * blocks], type: F, data: f32Bytes(w.scales) },
            { name: "zeros", dims: [w.zeros.length], type: OnnxType.UINT8, data: w.zeros },
          ],
          inputs: [x],
          outputs: [out([s.m, s.n])],
        },
      };
    }
    case "conv3x3": {
      const x = { name: "x", dims: [1, s.cin, s.h, s.w], type: F };
      const w = seededUniform(s.cout * s.cin * 9, 2, 1 / Math.sqrt(9 * s.cin));
      return {
        feeds: [x],
        graph: {
          nodes: [{ opType: "Conv", inputs: ["x", "w", "bias"], outputs: ["y"], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] } }],
          initializers: [
            { name: "w", dims: [s.cout, s.cin, 3, 3], type: F, data: f32Bytes(w) },
            { name: "bias", dims: [s.cout], type: F, data: f32Bytes(seededUniform(s.cout, 3)) },
          ],
          inputs: [x],
          outputs: [out([1, s.cout, s.h, s.w])],
        },
      };
    }
    case "attention": {
      // Heads-first inputs with K already transposed and q pre-scaled: the peer's best case.
      const q = { name: "q", dims: [s.heads, s.lq, s.headDim], type: F };
      const kt = { name: "kt", dims: [s.heads, s.headDim, s.lk], type: F };
      const v = { name: "v", dims: [s.heads, s.lk, s.headDim], type: F };
      return {
        feeds: [q, kt, v],
        graph: {
          nodes: [
            { opType: "MatMul", inputs: ["q", "kt"], outputs: ["scores"] },
            // Axis 2 rather than −1: onnx-proto.ts writes non-negative varints only.
            { opType: "Softmax", inputs: ["scores"], outputs: ["p"], attrs: { axis: 2 } },
            { opType: "MatMul", inputs: ["p", "v"], outputs: ["y"] },
          ],
          initializers: [],
          inputs: [q, kt, v],
          outputs: [out([s.heads, s.lq, s.headDim])],
        },
      };
    }
  }
}

export async function createOrtPeer(): Promise<Peer> {
  await installNavigatorGpu();
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve("onnxruntime-web")); // its CommonJS entry lives in dist/
  // The non-bundled build loads its wasm glue from wasmPaths; the wasm bytes are handed over directly
  // because Node's fetch cannot read file: URLs.
  const ort = (await import(pathToFileURL(join(dist, "ort.webgpu.min.mjs")).href)) as Ort;
  ort.env.wasm.wasmPaths = pathToFileURL(dist).href + "/";
  ort.env.wasm.wasmBinary = readFileSync(join(dist, "ort-wasm-simd-threaded.jsep.wasm"));
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  let device: GPUDevice | undefined;
  return {
    name: "ort",
    describe: `onnxruntime-web ${ort.env.versions?.web ?? "?"} WebGPU EP; wall time of session.run + onSubmittedWorkDone, GPU-resident input and output`,
    async prepare(s: CaseShape): Promise<PreparedRun | undefined> {
      const g = graphFor(s);
      if (!g) return undefined;
      const session = await ort.InferenceSession.create(encodeModel(g.graph), { executionProviders: ["webgpu"], preferredOutputLocation: "gpu-buffer", graphOptimizationLevel: "all" });
      device ??= await ort.env.webgpu.device;
      const buffers: GPUBuffer[] = [];
      const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
      g.feeds.forEach((v, i) => {
        const count = v.dims.reduce((a, b) => a * b, 1);
        const buffer = device!.createBuffer({ size: count * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
        device!.queue.writeBuffer(buffer, 0, seededUniform(count, 11 + i));
        buffers.push(buffer);
        feeds[v.name] = ort.Tensor.fromGpuBuffer(buffer, { dataType: "float32", dims: v.dims });
      });
      return {
        async once(reps = 1) {
          // ORT only logs WebGPU validation errors (e.g. a 335 MB attention score matrix over the 128 MiB
          // binding limit) and carries on; an error scope turns them into a failed row instead of a bogus time.
          device!.pushErrorScope("validation");
          const t0 = performance.now();
          const outs = [];
          for (let i = 0; i < reps; i++) outs.push(...Object.values(await session.run(feeds)));
          await device!.queue.onSubmittedWorkDone();
          const wallMs = (performance.now() - t0) / reps;
          const error = await device!.popErrorScope();
          for (const t of outs) t.dispose();
          if (error) throw new Error(`ORT WebGPU validation error: ${error.message.split("\n")[0]}`);
          return { wallMs };
        },
        dispose() {
          void session.release();
          for (const b of buffers) b.destroy();
        },
      };
    },
  };
}

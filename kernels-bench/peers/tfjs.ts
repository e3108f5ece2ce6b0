/**
 * TensorFlow.js (tfjs-backend-webgpu) as a peer, in Node on Dawn. Linear is `matMul(x, w, false,
 * true)`, conv is `fused.conv2d` with bias (NHWC, 'same'), attention is matMul → softmax → matMul on
 * heads-first inputs with K and the scale already applied (the peer's best case). tfjs has no
 * quantized matmul, so quantized rows say "no such op". A timed run is the op, `submitQueue()` and
 * `onSubmittedWorkDone()` on the backend's device: wall time without any read-back.
 */
import type { CaseShape } from "../cases.ts";
import type { Peer } from "../bench.ts";
import type { PreparedRun } from "../timing.ts";
import { seededUniform } from "../random.ts";
import { installNavigatorGpu } from "./node-webgpu.ts";

type Tf = typeof import("@tensorflow/tfjs-core");
type TfTensor = import("@tensorflow/tfjs-core").Tensor;
/** The parts of tfjs's WebGPUBackend we touch (public members in 4.22). */
interface WebGpuBackendLike {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export async function createTfjsPeer(): Promise<Peer> {
  await installNavigatorGpu();
  const tf = (await import("@tensorflow/tfjs-core")) as Tf;
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs: setBackend('webgpu') failed");
  await tf.ready();
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const sync = async () => {
    // tfjs submits by itself every few dispatches; submit the rest, if any, like its own read path does.
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    await backend.device.queue.onSubmittedWorkDone();
  };
  const tensor = (dims: number[], seed: number, scale = 1) => tf.tensor(seededUniform(dims.reduce((a, b) => a * b, 1), seed, scale), dims, "float32");
  return {
    name: "tfjs",
    describe: `tfjs-core ${tf.version_core} + tfjs-backend-webgpu; wall time of the op + submitQueue + onSubmittedWorkDone`,
    async prepare(s: CaseShape): Promise<PreparedRun | undefined> {
      let inputs: TfTensor[];
      let op: () => TfTensor;
      switch (s.op) {
        case "linear": {
          const x = tensor([s.m, s.k], 1);
          const w = tensor([s.n, s.k], 2, 1 / Math.sqrt(s.k));
          inputs = [x, w];
          op = () => tf.matMul(x, w, false, true);
          break;
        }
        case "qlinear":
          return undefined;
        case "conv3x3": {
          const x = tensor([1, s.h, s.w, s.cin], 1);
          const w = tensor([3, 3, s.cin, s.cout], 2, 1 / Math.sqrt(9 * s.cin));
          const bias = tensor([s.cout], 3);
          inputs = [x, w, bias];
          op = () => tf.fused.conv2d({ x: x as import("@tensorflow/tfjs-core").Tensor4D, filter: w as import("@tensorflow/tfjs-core").Tensor4D, strides: 1, pad: "same", bias });
          break;
        }
        case "attention": {
          const q = tensor([s.heads, s.lq, s.headDim], 1, 1 / Math.sqrt(s.headDim));
          const kt = tensor([s.heads, s.headDim, s.lk], 2);
          const v = tensor([s.heads, s.lk, s.headDim], 3);
          inputs = [q, kt, v];
          op = () => tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(q, kt)), v));
          break;
        }
      }
      await sync();
      return {
        async once(reps = 1) {
          // tfjs only logs WebGPU validation errors (e.g. attention scores over the 128 MiB binding
          // limit); the error scope turns them into a failed row instead of a bogus time.
          backend.device.pushErrorScope("validation");
          const t0 = performance.now();
          const ys = Array.from({ length: reps }, () => op());
          await sync();
          const wallMs = (performance.now() - t0) / reps;
          const error = await backend.device.popErrorScope();
          for (const y of ys) y.dispose();
          if (error) throw new Error(`tfjs WebGPU validation error: ${error.message.split("\n")[0]}`);
          return { wallMs };
        },
        dispose() {
          for (const t of inputs) t.dispose();
        },
      };
    },
  };
}

import { describe, it } from "vitest";
import { foundationCases } from "../cases/foundation.ts";
import { gpuKernelCases } from "../cases/gpu-kernels.ts";
import { quantCases } from "../cases/quant.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("foundation kernels (Node, Dawn)", () => {
  for (const c of [...foundationCases, ...quantCases, ...gpuKernelCases]) it(c.name, async () => c.run(await testGpu()));
});

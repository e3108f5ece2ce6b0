import { describe, it } from "vitest";
import { attentionCases } from "../cases/attention.ts";
import { convCases } from "../cases/conv.ts";
import { foundationCases } from "../cases/foundation.ts";
import { quantCases } from "../cases/quant.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("foundation kernels (Node, Dawn)", () => {
  for (const c of [...foundationCases, ...quantCases, ...convCases, ...attentionCases]) it(c.name, async () => c.run(await testGpu()));
});

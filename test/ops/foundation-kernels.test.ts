import { describe, it } from "vitest";
import { foundationCases } from "../cases/foundation.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("foundation kernels (Node, Dawn)", () => {
  for (const c of foundationCases) it(c.name, async () => c.run(await testGpu()));
});

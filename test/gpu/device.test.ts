import { describe, it } from "vitest";
import { deviceCases } from "../cases/device.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("device layer (Node, Dawn)", () => {
  for (const c of deviceCases) it(c.name, async () => c.run(await testGpu()));
});

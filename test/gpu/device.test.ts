import { describe, expect, it } from "vitest";
import { getDevice } from "../../src/gpu/device.ts";
import { deviceCases } from "../cases/device.ts";
import { testGpu } from "../helpers/gpu.ts";

describe("device layer (Node, Dawn)", () => {
  for (const c of deviceCases) it(c.name, async () => c.run(await testGpu()));
});

describe("shared devices", () => {
  // Options of their own, so this test's shared device is not the one other tests use.
  const options = { powerPreference: "low-power" } as const;

  it("a lost shared device is replaced for the next caller; one with an uncaptured error too", async () => {
    const first = await getDevice(options);
    expect(await getDevice(options)).toBe(first);
    first.destroy();
    await first.device.lost;
    const second = await getDevice(options);
    expect(second).not.toBe(first);
    expect(second.usable).toBe(true);
    // An uncaptured error (a validation error, an out-of-memory) leaves the device unusable: replaced as well.
    second.device.pushErrorScope("validation");
    second.device.popErrorScope(); // nothing captured here; the next error goes to the uncaptured handler
    second.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await second.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(second.usable).toBe(false);
    expect(() => second.check("a test")).toThrow(/this device is unusable now: dispose the pipeline and load it again/);
    const third = await getDevice(options);
    expect(third).not.toBe(second);
    third.destroy();
  });

  it("other options get another device instead of the first one's", async () => {
    const f32Only = await getDevice({ ...options, disableF16: true });
    expect(f32Only.caps.f16).toBe(false);
    f32Only.destroy();
  });
});

describe("Vulkan driver choice (Node)", () => {
  it("each adapter choice gets its own driver in one process, whatever was opened first", async () => {
    const { createDevice } = await import("../../src/gpu/device.ts");
    // Before, the first choice fixed the driver for the whole process and later choices were silently ignored.
    const swiftshader = await createDevice({ adapter: "swiftshader" });
    const lavapipe = await createDevice({ adapter: "lavapipe" });
    try {
      expect(swiftshader.describe()).toMatch(/swiftshader/i);
      expect(swiftshader.caps.icd).toMatch(/vk_swiftshader_icd\.json$/);
      expect(lavapipe.describe()).toMatch(/llvmpipe/);
      expect(lavapipe.caps.icd).toMatch(/lvp_icd/);
    } finally {
      swiftshader.destroy();
      lavapipe.destroy();
    }
  });
});

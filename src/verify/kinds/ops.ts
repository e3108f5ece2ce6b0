import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Gpu } from "../../gpu/runtime.ts";
import { runOpsCases } from "../ops-cases/run.ts";
import type { VerifyKind } from "../types.ts";

const opsKind: VerifyKind = {
  kind: "ops",
  // Each op's README bound applies unless --tol overrides (elementwise/softmax 1e-6, norms 1e-5, ...).
  defaultTol: 1e-6,
  needsGpu: true,
  async run(folder, manifest, opts) {
    const gpu = await Gpu.create();
    return runOpsCases(gpu, manifest, async (f) => new Uint8Array(readFileSync(join(folder, f))), opts.tol, opts.log);
  },
};
export default opsKind;

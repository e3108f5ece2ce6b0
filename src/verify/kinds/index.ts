import { registerVerifyKind } from "../registry.ts";

// One line per fixture kind. Each module default-exports a VerifyKind.
registerVerifyKind("ops", async () => (await import("./ops.ts")).default);
registerVerifyKind("tokenizer", async () => (await import("./tokenizer.ts")).default);
registerVerifyKind("scores", async () => (await import("./scores.ts")).default);
registerVerifyKind("quant", async () => (await import("./quant.ts")).default);
registerVerifyKind("schedulers", async () => (await import("./schedulers.ts")).default);
registerVerifyKind("rng", async () => (await import("./rng.ts")).default);
registerVerifyKind("taesd", async () => (await import("./taesd.ts")).default);
registerVerifyKind("clip", async () => (await import("./clip.ts")).default);
registerVerifyKind("pipeline", async () => (await import("./pipeline.ts")).default);

// Browser-safe parts of the safetensors module; Node-only helpers live in node-*.ts.
export * from "./dtypes.ts";
export * from "./errors.ts";
export * from "./header.ts";
export * from "./convert.ts";
export * from "./writer.ts";
export * from "./byte-source.ts";
export * from "./lazy-reader.ts";
export * from "./memory.ts";
export * from "./stream-writer.ts";

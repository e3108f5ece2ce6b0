// Browser-safe quantization API: formats, CPU reference quantizers, packing, pack format (no file I/O).
// Node-only pack file reading/writing is in ./node.ts.
export * from "./formats.ts";
export * from "./quantize.ts";
export * from "./packing.ts";
export * from "./linear.ts";
export * from "./policy.ts";
export * from "./pack-format.ts";
export * from "./pack-reader.ts";
export * from "./packed-pipeline.ts";

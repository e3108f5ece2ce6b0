// Node-only parts of the quantization layer: pack files and streaming tensor files.
export * from "./pack.ts";
export * from "./tensor-file.ts";
export * from "./component-source.ts";

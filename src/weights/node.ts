// Node-only parts of the weights layer.
export * from "./safetensors/node-byte-source.ts";
export * from "./safetensors/node-sink.ts";
export * from "./safetensors/node-file.ts";
export * from "./sources/node-folder-source.ts";
export * from "./sources/node-cache.ts";

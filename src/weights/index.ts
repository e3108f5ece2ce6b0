// Browser-safe entry of the weights layer. Node-only pieces (file handles, cache folder, file sink)
// are in ./node.ts so browser bundles never pull in node:fs.
export * from "./errors.ts";
export * from "./safetensors/index.ts";
export * from "./diffusers/index.ts";
export * from "./sources/types.ts";
export * from "./sources/progress.ts";
export * from "./sources/cache.ts";
export * from "./sources/http-byte-source.ts";
export * from "./sources/url-source.ts";
export * from "./sources/file-list-source.ts";
export * from "./sources/cache-storage.ts";

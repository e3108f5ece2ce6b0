export * from "./check.ts";
export * from "./model-index.ts";
export * from "./weight-files.ts";
export * from "./component.ts";
export * from "./pipeline.ts";

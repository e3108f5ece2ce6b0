declare module "qsched:shaders" {
  /** Every `.wgsl` under shaders/, keyed by path relative to shaders/. */
  const files: Record<string, string>;
  export default files;
}

// wgsl_reflect's CommonJS-labelled node build breaks under ESM; we import its ESM roll-up, whose
// types are the package's own.
declare module "wgsl_reflect/wgsl_reflect.module.js" {
  export * from "wgsl_reflect";
}

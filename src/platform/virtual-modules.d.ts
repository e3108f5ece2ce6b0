declare module "qsched:shaders" {
  /** Every `.wgsl` under shaders/, keyed by path relative to shaders/. */
  const files: Record<string, string>;
  export default files;
}

/**
 * The `--shapes=AxBxC,…` option of the kernel-against-kernel benches: each shape `dims` positive integers joined by
 * "x" (`format` names them in the error, e.g. "MxKxN"). Undefined when the option is absent.
 */
export function shapesArg(args: readonly string[], dims: number, format: string): number[][] | undefined {
  const text = args.find((a) => a.startsWith("--shapes="))?.slice("--shapes=".length);
  return text?.split(",").map((t) => {
    const d = t.split("x").map(Number);
    if (d.length !== dims || !d.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`--shapes: expected ${format} with positive integers, got "${t}"`);
    return d;
  });
}

/**
 * A checkpoint that cannot be loaded: a missing file, a bad index, missing or unexpected tensors, a
 * server that does not honour Range requests. `where` names the folder, URL or file at fault.
 */
export class WeightsLoadError extends Error {
  constructor(
    message: string,
    readonly where: string,
    options?: { cause?: unknown },
  ) {
    super(`${where}: ${message}`, options);
    this.name = "WeightsLoadError";
  }
}

/** Lists names for an error message, at most `max` of them, then how many more. */
export function listNames(names: string[], max = 20): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown}, ... (${names.length - max} more)` : shown;
}

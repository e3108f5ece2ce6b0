/** A safetensors file that is corrupt, truncated or hostile. `where` names the file (and tensor) at fault. */
export class SafetensorsError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "SafetensorsError";
  }
}

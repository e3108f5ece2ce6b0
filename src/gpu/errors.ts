/** The device was lost or reported an error outside any op (context says during what). */
export class GpuDeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GpuDeviceError";
  }
}

/** A `.wgsl` file failed to compile; the message names the file and line of every error. */
export class ShaderCompileError extends Error {
  constructor(
    readonly kernel: string,
    readonly messages: { file: string; line: number; column: number; text: string }[],
  ) {
    super(`${kernel}: shader compilation failed:\n` + messages.map((m) => `  shaders/${m.file}:${m.line}:${m.column}: ${m.text}`).join("\n"));
    this.name = "ShaderCompileError";
  }
}

/** What an op binds disagrees with what its shader declares. */
export class BindingMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BindingMismatchError";
  }
}

/** An op was called with inputs of the wrong shape or dtype. */
export class OpInputError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "OpInputError";
  }
}

/** A tensor or dispatch exceeds one of the adapter's limits; the message names the limit. */
export class GpuLimitError extends Error {
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
    this.name = "GpuLimitError";
  }
}

/** One case's outcome. `error` is the measured error (relative max unless `detail` says otherwise). */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: number;
  /** What was compared and, when it failed, where (tensor name, first mismatching index). */
  detail?: string;
}

export interface VerifyOptions {
  /** Per-tensor bound on max|a−b| / max(max|b|, 1) for float comparisons; undefined = the kind's default. */
  tol?: number;
  /** Progress lines (one per case group); silent when omitted. */
  log?: (line: string) => void;
  /** Model dtype for kinds that run models (`dtypes` lists them); default f32. */
  dtype?: "f32" | "f16";
}

/** A fixture format the verifier can run, selected by the manifest's `kind`. */
export interface VerifyKind {
  kind: string;
  /** The bound used when `--tol` is not given (documented in README). */
  defaultTol: number;
  /** Whether this kind needs a WebGPU device. */
  needsGpu: boolean;
  /** Model dtypes the kind can run (VerifyOptions.dtype); absent = f32 only. */
  dtypes?: readonly ("f32" | "f16")[];
  run(folder: string, manifest: Manifest, opts: VerifyOptions): Promise<CaseResult[]>;
}

export interface Manifest {
  kind: string;
  format_version?: number;
  [key: string]: unknown;
}

/** Download progress of one file and of the whole load, in bytes. */
export interface LoadProgress {
  /** The file (URL or relative path) these bytes belong to. */
  file: string;
  fileBytesDone: number;
  fileBytesTotal: number;
  /** Over every file seen so far; `bytesTotal` grows as new files are opened. */
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressListener = (p: LoadProgress) => void;

/** Adds up bytes per file and overall and reports each change to a listener. */
export class ProgressTracker {
  private readonly files = new Map<string, { done: number; total: number }>();
  bytesDone = 0;
  bytesTotal = 0;

  constructor(private readonly listener?: ProgressListener) {}

  /** Declares a file's size (once; a file whose bytes arrived before its size was known gets it now). */
  addFile(file: string, total: number): void {
    const f = this.files.get(file);
    if (f && f.total > 0) return;
    if (f) f.total = total;
    else this.files.set(file, { done: 0, total });
    this.bytesTotal += total;
    this.emit(file);
  }

  /** Records `n` more bytes received for `file`. */
  add(file: string, n: number): void {
    let f = this.files.get(file);
    if (!f) {
      f = { done: 0, total: 0 };
      this.files.set(file, f);
    }
    f.done += n;
    this.bytesDone += n;
    this.emit(file);
  }

  private emit(file: string): void {
    if (!this.listener) return;
    const f = this.files.get(file)!;
    this.listener({ file, fileBytesDone: f.done, fileBytesTotal: f.total, bytesDone: this.bytesDone, bytesTotal: this.bytesTotal });
  }
}

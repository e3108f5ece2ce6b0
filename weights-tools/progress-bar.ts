/** Bytes as "1.73 GB" (decimal units, like the Hub and `ls -h --si`). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** Below this, a log (not a TTY) gets one line per file instead of one per 10 %. */
const SMALL_FILE_BYTES = 64 * 1024 * 1024;

/**
 * A progress bar on stderr. On a terminal it redraws one line (at most 10 times a second); in a log
 * (not a TTY) it prints a line at every 10 % so logs stay short. Silent when `quiet`.
 */
export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly quiet = false,
  ) {}

  update(done: number): void {
    if (this.quiet || this.total <= 0) return;
    const frac = Math.min(1, done / this.total);
    const now = Date.now();
    const rate = done / Math.max(1e-3, (now - this.started) / 1000);
    const text = `${this.label} ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(this.total)} ${formatBytes(rate)}/s`;
    if (this.tty) {
      if (now - this.lastDraw < 100 && frac < 1) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(frac * width);
      process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${text}\x1b[K`);
      if (frac >= 1) process.stderr.write("\n");
    } else {
      // Small files get one line at the end; big ones a line per 10 %.
      const decile = this.total < SMALL_FILE_BYTES ? (frac >= 1 ? 10 : -1) : Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${text}\n`);
    }
  }
}

/**
 * Exits with `code` once everything written to stdout and stderr has gone out. process.exit() right after a large
 * write to a pipe cut it off (`weights-tools inspect --json | jq` got 64 KiB of a 100 KiB listing, with exit 0);
 * waiting for the event loop to empty instead can hang where a GPU binding keeps it alive.
 */
export function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

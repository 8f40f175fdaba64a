/**
 * Where the CLI writes. Commands take a {@link CliIO} instead of touching `process`, so tests run them in-process
 * and read what they printed.
 */

/** A text sink: process.stdout / process.stderr, or a test's buffer. */
export interface CliOutput {
  write(text: string): unknown;
  /** Whether it is a terminal (live progress lines are drawn only then). */
  isTTY?: boolean;
  /** Terminal width, for truncating the progress line. */
  columns?: number;
}

/** The CLI's streams: results go to stdout, progress and errors to stderr. */
export interface CliIO {
  stdout: CliOutput;
  stderr: CliOutput;
}

/** The process's own streams. */
export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** Writes `lines` to `out`, one per line. */
export function writeLines(out: CliOutput, lines: readonly string[]): void {
  if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
}

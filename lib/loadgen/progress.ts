/** A one-line rendering of {@link Progress} for a CLI's live status line. */
import type { Progress } from './types.js';

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Formats a progress report as one line without a newline, e.g.
 * `Server 12.3 s  issued 12,300  completed 12,290  outstanding 10`. Failures are shown only when there are any;
 * the final report ends in `done`. Write it after `\r` to update a terminal line in place.
 */
export function formatProgress(progress: Progress): string {
  const parts = [
    `${progress.scenario} ${(progress.elapsedMs / 1000).toFixed(1)} s`,
    `issued ${count(progress.issued)}`,
    `completed ${count(progress.completed)}`,
    `outstanding ${count(progress.outstanding)}`,
  ];
  if (progress.failed > 0) parts.push(`failed ${count(progress.failed)}`);
  if (progress.done) parts.push('done');
  return parts.join('  ');
}

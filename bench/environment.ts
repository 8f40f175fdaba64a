/** What every benchmark result records about where and when it ran, and number rounding for the JSON. */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { cudaDevices, version } from '../lib/index.js';

/** Machine, GPU, Node and inferrt versions, time and git commit. */
export function environment(): Record<string, string | number | null> {
  return {
    machine: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    gpu: cudaDevices()[0]?.name ?? null,
    node: process.version,
    inferrt: version(),
    date: new Date().toISOString(),
    commit: gitCommit(),
  };
}

/** Two decimals. */
export function round(x: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(x * scale) / scale;
}

/**
 * INFERRT_COMMIT when set (a tree copied to another machine may carry stale git metadata: pass the commit along),
 * else HEAD, marked "-dirty" when tracked files differ from it.
 */
function gitCommit(): string {
  if (process.env.INFERRT_COMMIT) return process.env.INFERRT_COMMIT;
  const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? head : `${head}-dirty`;
  } catch {
    return 'uncommitted';
  }
}

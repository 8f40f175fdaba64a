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
export function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'uncommitted';
  }
}

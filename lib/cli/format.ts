/** Text formatting shared by the CLI commands: sizes, durations, shapes, tensor values, tables. */
import type { ShapeRange } from '../config.js';

/** `1.5 MiB` style, exact bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Milliseconds with sensible precision: `0.042 ms`, `12.3 ms`, `1.25 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** `[1, -1, 384]`. */
export function formatDims(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** `min [1, 1] opt [8, 384] max [64, 512]`, or just `[1, 3]` when min = opt = max. */
export function formatRange(range: ShapeRange): string {
  const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(range.min, range.opt) && same(range.opt, range.max)) return `fixed ${formatDims(range.min)}`;
  return `min ${formatDims(range.min)} opt ${formatDims(range.opt)} max ${formatDims(range.max)}`;
}

/** A number as it reads in a value preview: short, fixed-width-ish. */
export function formatNumber(v: number | bigint | boolean): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(4) : v.toPrecision(6).replace(/\.?0+$/, '');
}

/** Left-aligned columns; the last column is not padded. */
export function table(rows: ReadonlyArray<readonly string[]>, indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Collapses a possibly multi-line message into one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

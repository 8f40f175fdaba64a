/**
 * `run`'s outputs: a short preview of each tensor (a few values and summary statistics) and `--save-outputs`,
 * which writes each as `DIR/<name>.npy` under a file-system-safe name.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InferrtError } from '../errors.js';
import { writeNpyFile, type NpyDType } from '../npy.js';
import type { Tensor } from '../tensor.js';
import { formatDims, formatNumber } from './format.js';

/** How many leading values the preview shows. */
export const PREVIEW_COUNT = 8;

/**
 * `logits float32 [2, 10]` then the first values and min/max/mean (and NaN/Inf counts when there are any).
 * `halfToFloat` decodes fp16 bits (the library's `halfBitsToFloat`; passed in so this module loads no addon).
 */
export function previewTensor(name: string, t: Tensor, halfToFloat: (bits: number) => number): string[] {
  const valueAt = (tensor: Tensor, i: number): number | bigint => {
    const v = tensor.data[i]!;
    return tensor.dtype === 'float16' ? halfToFloat(v as number) : v;
  };
  const n = t.data.length;
  const shown = Array.from({ length: Math.min(n, PREVIEW_COUNT) }, (_, i) => formatNumber(valueAt(t, i)));
  const lines = [`${name}: ${t.dtype} ${formatDims(t.shape)}`];
  lines.push(`  values: [${shown.join(', ')}${n > PREVIEW_COUNT ? `, ... (${n} in all)` : ''}]`);
  if (n === 0) return lines;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < n; i++) {
    const v = Number(valueAt(t, i));
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      finite++;
    }
  }
  const stats = finite > 0 ? [`min ${formatNumber(min)}`, `max ${formatNumber(max)}`, `mean ${formatNumber(sum / finite)}`] : [];
  if (nan > 0) stats.push(`${nan} NaN`);
  if (inf > 0) stats.push(`${inf} Inf`);
  lines.push(`  stats: ${stats.join(', ')}`);
  return lines;
}

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/**
 * A file name (without `.npy`) for a tensor name: characters other than letters, digits, '.', '_' and '-' become
 * '_'; names that would be hidden, empty, '.'/'..' or reserved on Windows are adjusted; long names are cut.
 */
export function safeFileName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (s === '' || /^\.+$/.test(s)) s = s.replace(/\./g, '_') || '_';
  if (s.startsWith('.')) s = `_${s}`;
  if (RESERVED.test(s)) s = `${s}_`;
  return s.slice(0, 200);
}

/** One output written by {@link saveOutputs}. */
export interface SavedOutput {
  name: string;
  file: string;
  /** Whether the file name differs from the tensor name. */
  renamed: boolean;
}

/** Writes every output to `dir/<safe name>.npy` (creating `dir`); names that collide get `_2`, `_3`, .... */
export async function saveOutputs(dir: string, outputs: Record<string, Tensor>): Promise<SavedOutput[]> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InferrtError('INVALID_ARGUMENT', `--save-outputs: cannot create directory '${dir}': ${err.code ?? err.message}`);
  }
  const taken = new Set<string>();
  const saved: SavedOutput[] = [];
  for (const [name, t] of Object.entries(outputs)) {
    const base = safeFileName(name);
    let stem = base;
    // Compare case-insensitively: 'Out' and 'out' are one file on macOS and Windows.
    for (let k = 2; taken.has(stem.toLowerCase()); k++) stem = `${base}_${k}`;
    taken.add(stem.toLowerCase());
    const file = path.join(dir, `${stem}.npy`);
    try {
      await writeNpyFile(file, { dtype: t.dtype as NpyDType, shape: t.shape, data: t.data });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new InferrtError('INVALID_ARGUMENT', `--save-outputs: cannot write output '${name}' to '${file}': ${err.code ?? err.message}`);
    }
    saved.push({ name, file, renamed: stem !== name });
  }
  return saved;
}

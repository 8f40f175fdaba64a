/**
 * INT8 calibration cache text: written after calibration, read back to skip it.
 *
 * The format follows TensorRT's calibration cache ("calibration table") text, so caches made by TensorRT,
 * trtexec or Polygraphy can be brought to inferrt:
 * ```
 * TRT-8502-EntropyCalibration2          line 1: TRT-<TensorRT version>-<calibrator>
 * input: 3c010204                        then one line per tensor: <name>: <8 hex digits>
 * /model/conv1/Conv_output_0: 3d895e44
 * ```
 * The 8 hex digits are the IEEE-754 float32 bit pattern (most significant digit first) of the tensor's scale,
 * scale = amax / 127, where amax is the calibrated absolute range of the tensor's values.
 * inferrt writes the same line format under its own header, `inferrt-<cache format version>-<calibrator>`
 * (e.g. `inferrt-1-EntropyCalibration2`), and reads both.
 *
 * Tensor names may contain colons and spaces (`input:0`, `(Unnamed Layer* 4) [Constant]_output`), so a line
 * splits at its LAST `: `. Lines may end in `\n` or `\r\n`; blank lines are allowed only at the end.
 */
import { InferrtError } from '../errors.js';
import {
  formatCacheHeader, parseCacheHeader, type CalibrationAlgorithm, type CalibrationCacheFormat,
} from './cache-header.js';
import { HEX_SCALE, hexToScale, scaleToHex } from './scale-bits.js';

/** A parsed cache: who wrote it, the writer's version, the calibrator, and the float32 scale of each tensor. */
export interface CalibrationCache {
  format: CalibrationCacheFormat;
  /** TensorRT's library version number (e.g. '8502') or inferrt's cache format version ('1'), as written. */
  version: string;
  algorithm: CalibrationAlgorithm;
  /** tensor name → scale (amax / 127) in file order. */
  scales: Map<string, number>;
}

/** What {@link formatCalibrationCache} writes: a calibrator name and the scale of each tensor. */
export interface CalibrationCacheContents {
  algorithm: CalibrationAlgorithm;
  scales: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
}

/** The separator between a tensor name and its scale; names may contain it too, so lines split at the last one. */
const SEPARATOR = ': ';

/** Parses cache text. `source` (a file path, say) names the cache in error messages. */
export function parseCalibrationCache(text: string, source?: string): CalibrationCache {
  const name = source === undefined ? 'calibration cache' : `calibration cache ${JSON.stringify(source)}`;
  const where = (line: number): string => `${name} line ${line}`;
  function fail(line: number, what: string): never {
    throw new InferrtError('INVALID_ARGUMENT', `${where(line)}: ${what}`, { source, line });
  }

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  if (end === 0) {
    throw new InferrtError('INVALID_ARGUMENT',
      `${name} is empty; expected a header line 'TRT-<version>-<Algorithm>' or 'inferrt-<version>-<Algorithm>'`,
      { source, line: 1 });
  }

  const header = parseCacheHeader(lines[0]!, (what) => fail(1, what));
  const scales = new Map<string, number>();
  const lineOf = new Map<string, number>();
  for (let i = 1; i < end; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line.trim() === '') fail(lineNo, 'blank line (blank lines are allowed only at the end of the cache)');
    const cut = line.lastIndexOf(SEPARATOR);
    if (cut < 0) fail(lineNo, `expected '<tensor name>: <8 hex digits>' but found no ': ' in ${JSON.stringify(line)}`);
    const tensor = line.slice(0, cut);
    const hex = line.slice(cut + SEPARATOR.length);
    if (tensor.trim() === '') fail(lineNo, `empty tensor name in ${JSON.stringify(line)}`);
    if (!HEX_SCALE.test(hex)) {
      fail(lineNo, `scale of tensor ${JSON.stringify(tensor)} must be exactly 8 hex digits (the float32 bit pattern) ` +
        `but is ${JSON.stringify(hex)}`);
    }
    const scale = hexToScale(hex);
    if (!Number.isFinite(scale) || scale < 0) {
      fail(lineNo, `scale of tensor ${JSON.stringify(tensor)} is ${scale} (bits ${hex}); a scale must be finite and >= 0`);
    }
    const first = lineOf.get(tensor);
    if (first !== undefined) fail(lineNo, `duplicate tensor name ${JSON.stringify(tensor)} (first on line ${first})`);
    lineOf.set(tensor, lineNo);
    scales.set(tensor, scale === 0 ? 0 : scale); // -0 (bits 80000000) is read as 0
  }
  return { ...header, scales };
}

/**
 * Cache text in inferrt's format: the header `inferrt-<format version>-<algorithm>`, then `<name>: <8 hex digits>`
 * per tensor in the order given, then a newline. Scales are rounded to float32, as TensorRT stores them.
 */
export function formatCalibrationCache(cache: CalibrationCacheContents): string {
  const out = [formatCacheHeader(cache.algorithm)];
  const entries = cache.scales instanceof Map ? [...cache.scales] : Object.entries(cache.scales);
  for (const [tensor, value] of entries) {
    if (typeof tensor !== 'string' || tensor.trim() === '' || /[\r\n]/.test(tensor)) {
      throw new InferrtError('INVALID_ARGUMENT',
        `calibration cache tensor name ${JSON.stringify(tensor)} must be a non-blank string without line breaks`);
    }
    const scale = typeof value === 'number' ? Math.fround(value) : Number.NaN;
    if (!Number.isFinite(scale) || scale < 0) {
      throw new InferrtError('INVALID_ARGUMENT',
        `calibration cache scale of tensor ${JSON.stringify(tensor)} must be a finite float32 >= 0 but is ${String(value)}`);
    }
    out.push(`${tensor}${SEPARATOR}${scaleToHex(scale === 0 ? 0 : scale)}`);
  }
  return `${out.join('\n')}\n`;
}

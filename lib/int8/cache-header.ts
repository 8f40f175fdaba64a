/**
 * The first line of a calibration cache: `<prefix>-<version>-<Algorithm>`.
 *
 * TensorRT writes `TRT-<version>-<Algorithm>`, where version is its library version as one decimal number
 * (e.g. 7103 for 7.1.3, 8502 for 8.5.2, 100300 for 10.3.0) and Algorithm names the calibrator
 * (`EntropyCalibration2`, `MinMaxCalibration`, ...). inferrt writes `inferrt-<cache format version>-<Algorithm>`.
 */
import { InferrtError } from '../errors.js';

/** The calibrator names TensorRT writes into its header; any other word is accepted too (custom calibrators). */
export const KNOWN_CALIBRATION_ALGORITHMS = ['EntropyCalibration2', 'EntropyCalibration', 'MinMaxCalibration', 'LegacyCalibration'] as const;

/** A calibrator name as stored in the header; the known TensorRT names are listed for completion. */
export type CalibrationAlgorithm = (typeof KNOWN_CALIBRATION_ALGORITHMS)[number] | (string & {});

/** Who wrote a cache: TensorRT (or a tool that writes its format, e.g. Polygraphy) or inferrt. */
export type CalibrationCacheFormat = 'tensorrt' | 'inferrt';

/** The version of inferrt's own cache format, written after `inferrt-`; caches of other versions are refused. */
export const CALIBRATION_CACHE_FORMAT_VERSION = 1;

export interface CacheHeader {
  format: CalibrationCacheFormat;
  version: string;
  algorithm: string;
}

const PREFIXES: Record<string, CalibrationCacheFormat> = { 'TRT-': 'tensorrt', 'inferrt-': 'inferrt' };

/** An algorithm name is one word (letters, digits, underscore; a letter first), so the header splits unambiguously. */
export const ALGORITHM_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Reads line 1; `fail` throws the typed error that names the source and line. */
export function parseCacheHeader(line: string, fail: (what: string) => never): CacheHeader {
  const prefix = Object.keys(PREFIXES).find((p) => line.startsWith(p));
  if (prefix === undefined) {
    fail(`unknown header ${JSON.stringify(line)}; expected 'TRT-<version>-<Algorithm>' (TensorRT) or ` +
      `'inferrt-<version>-<Algorithm>' (inferrt)`);
  }
  const rest = line.slice(prefix.length);
  const dash = rest.indexOf('-');
  const version = dash < 0 ? '' : rest.slice(0, dash);
  const algorithm = dash < 0 ? '' : rest.slice(dash + 1);
  if (!/^\d+$/.test(version) || !ALGORITHM_NAME.test(algorithm)) {
    fail(`malformed header ${JSON.stringify(line)}; expected '${prefix}<decimal version>-<Algorithm>' ` +
      `(e.g. '${prefix}${prefix === 'TRT-' ? '8502' : CALIBRATION_CACHE_FORMAT_VERSION}-EntropyCalibration2')`);
  }
  const format = PREFIXES[prefix]!;
  if (format === 'inferrt' && Number(version) !== CALIBRATION_CACHE_FORMAT_VERSION) {
    fail(`inferrt calibration cache format version ${version} is not supported ` +
      `(this build reads version ${CALIBRATION_CACHE_FORMAT_VERSION})`);
  }
  return { format, version, algorithm };
}

/** inferrt's header line for `algorithm` (checked to be one word). */
export function formatCacheHeader(algorithm: string): string {
  if (!ALGORITHM_NAME.test(algorithm)) {
    throw new InferrtError('INVALID_ARGUMENT',
      `calibration cache algorithm ${JSON.stringify(algorithm)} is not a single word of letters, digits and '_' ` +
      `starting with a letter (e.g. 'EntropyCalibration2')`);
  }
  return `inferrt-${CALIBRATION_CACHE_FORMAT_VERSION}-${algorithm}`;
}

/**
 * INT8 calibration statistics: a histogram of |x| collected over calibration batches, and the thresholds
 * (amax) an entropy, min-max or percentile calibrator reads from it. The math runs in native code
 * (native/int8/); this module validates arguments and converts values. Everything runs on the calling thread:
 * `add` is O(batch size), {@link entropyAmax} is O(bins²) (about 2M steps for 2048 bins).
 *
 * Bin j of a histogram with bin width w covers (j·w, (j+1)·w]; bin 0 also holds 0.
 */
import { addon, type NativeAmaxHistogram } from '../binding.js';
import { DisposedError, InferrtError } from '../errors.js';

/** The default bin count of {@link AmaxHistogram}, as TensorRT-style entropy calibration uses. */
export const DEFAULT_HISTOGRAM_BINS = 2048;
/** The default number of quantization levels of {@link entropyAmax}: the 128 magnitudes of signed INT8. */
export const DEFAULT_QUANT_BINS = 128;
/** The largest bin count a histogram may have. */
export const MAX_HISTOGRAM_BINS = 1 << 24;
/** The largest bin count {@link entropyAmax} takes (its sweep is O(bins²)). */
export const MAX_ENTROPY_BINS = 16384;

/** Histogram bin counts: a Float64Array or an array of finite numbers >= 0. */
export type HistogramCounts = Float64Array | readonly number[];

/** Options of {@link AmaxHistogram}. */
export interface AmaxHistogramOptions {
  /** Number of bins, an integer in [1, 2^24]. Default 2048. */
  bins?: number;
  /**
   * The range to start with (a finite number >= 0). Default 0: the max |x| of the first batch with a nonzero
   * value. Pass the max of a first pass over the data to build the histogram at a known range.
   */
  initialRange?: number;
}

function invalid(message: string): InferrtError {
  return new InferrtError('INVALID_ARGUMENT', message);
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function checkNumber(v: unknown, what: string, ok: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !ok(v)) throw invalid(`${what} must be ${expected}, got ${describe(v)}`);
  return v;
}

const finiteNonNegative = (x: number): boolean => Number.isFinite(x) && x >= 0;

function checkInteger(v: unknown, what: string, lo: number, hi: number): number {
  return checkNumber(v, what, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer in [${lo}, ${hi}]`);
}

/** Counts as a Float64Array (a copy of an array), each checked finite and >= 0. */
function toCounts(counts: unknown, what: string): Float64Array {
  if (!(counts instanceof Float64Array) && !Array.isArray(counts)) throw invalid(`${what} must be a Float64Array or an array of numbers, got ${describe(counts)}`);
  if (counts.length === 0) throw invalid(`${what} must hold at least 1 bin, got 0`);
  for (let j = 0; j < counts.length; j++) checkNumber(counts[j], `${what}[${j}]`, finiteNonNegative, 'a finite number >= 0');
  return counts instanceof Float64Array ? counts : Float64Array.from(counts as number[]);
}

/**
 * A histogram of |x| over calibration data (float32, or float16 as a Uint16Array of half bits), with a fixed
 * number of bins over [0, range]. The range starts at the first batch's max |x| and, when a later batch holds a
 * larger value, doubles until it covers it, merging bins pairwise (TensorRT's documented power-of-two growth); the
 * result equals a histogram built in one pass at the final range. NaN and ±Inf are counted in
 * {@link nanCount} / {@link infCount} and left out of the bins, {@link maxAbs} and {@link count}.
 */
export class AmaxHistogram {
  readonly #native: NativeAmaxHistogram;
  #disposed = false;

  constructor(options: AmaxHistogramOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid(`AmaxHistogram: options must be an object, got ${describe(options)}`);
    const bins = checkInteger(options.bins ?? DEFAULT_HISTOGRAM_BINS, 'AmaxHistogram: options.bins', 1, MAX_HISTOGRAM_BINS);
    const initialRange = checkNumber(options.initialRange ?? 0, 'AmaxHistogram: options.initialRange', finiteNonNegative, 'a finite number >= 0');
    this.#native = new addon.int8.AmaxHistogram(bins, initialRange);
  }

  /** Releases the bins (up to 128 MiB at the largest bin count); later calls throw DisposedError. Idempotent. */
  dispose(): void {
    this.#disposed = true;
    this.#native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(): NativeAmaxHistogram {
    if (this.#disposed) throw new DisposedError('AmaxHistogram');
    return this.#native;
  }

  /** Adds a batch: a Float32Array, or a Uint16Array of float16 bits. Synchronous, O(data.length). */
  add(data: Float32Array | Uint16Array): void {
    if (!(data instanceof Float32Array) && !(data instanceof Uint16Array)) {
      throw invalid(`AmaxHistogram.add: data must be a Float32Array or a Uint16Array of float16 bits, got ${describe(data)}`);
    }
    this.#live().add(data);
  }

  /** A copy of the bin counts. */
  counts(): Float64Array {
    return this.#live().counts();
  }

  /** Number of bins. */
  get bins(): number {
    return this.#live().summary().bins;
  }
  /** The histogram covers [0, range]; 0 while every finite value seen is 0 (all in bin 0). */
  get range(): number {
    return this.#live().summary().range;
  }
  /** range / bins. */
  get binWidth(): number {
    return this.#live().summary().binWidth;
  }
  /** The largest finite |x| added (0 when none). */
  get maxAbs(): number {
    return this.#live().summary().maxAbs;
  }
  /** Finite values added (the histogram's total). */
  get count(): number {
    return this.#live().summary().count;
  }
  /** NaN values added (not in the histogram). */
  get nanCount(): number {
    return this.#live().summary().nanCount;
  }
  /** +Inf and -Inf values added (not in the histogram). */
  get infCount(): number {
    return this.#live().summary().infCount;
  }

  /** {@link entropyAmax} of this histogram. */
  entropyAmax(quantBins: number = DEFAULT_QUANT_BINS): number {
    const { binWidth } = this.#live().summary();
    return entropyAmax(this.#live().counts(), binWidth, quantBins);
  }
  /** {@link percentileAmax} of this histogram. */
  percentileAmax(percentile: number): number {
    const { binWidth } = this.#live().summary();
    return percentileAmax(this.#live().counts(), binWidth, percentile);
  }
  /** {@link minMaxAmax} of this histogram: its largest finite |x|. */
  minMaxAmax(): number {
    return minMaxAmax(this.#live().summary().maxAbs);
  }
}

/**
 * The entropy calibration threshold (TensorRT-style, after NVIDIA's GTC 2017 talk "8-bit Inference with
 * TensorRT"): for each candidate i of kept bins from `quantBins` to `counts.length`, P is the first i bins with
 * the mass above them added to bin i-1, Q is those i bins (without that mass) merged into `quantBins` levels
 * (bin j in level ⌊j·quantBins/i⌋) and spread back evenly over the bins where P is nonzero; the i with the least
 * KL(P‖Q) (the smallest on a tie) gives (i + 0.5)·binWidth, capped at counts.length·binWidth. 0 for an empty
 * histogram. native/int8/calibration_thresholds.cc documents each choice.
 * @param counts at most {@link MAX_ENTROPY_BINS} bins.
 * @param quantBins number of quantization levels, an integer in [1, counts.length]; default 128.
 */
export function entropyAmax(counts: HistogramCounts, binWidth: number, quantBins: number = DEFAULT_QUANT_BINS): number {
  const c = toCounts(counts, 'entropyAmax: counts');
  if (c.length > MAX_ENTROPY_BINS) throw invalid(`entropyAmax: counts may hold at most ${MAX_ENTROPY_BINS} bins, got ${c.length}`);
  checkNumber(binWidth, 'entropyAmax: binWidth', finiteNonNegative, 'a finite number >= 0');
  checkInteger(quantBins, 'entropyAmax: quantBins', 1, MAX_HISTOGRAM_BINS);
  if (quantBins > c.length) throw invalid(`entropyAmax: quantBins must be at most the number of bins (${c.length}), got ${quantBins}`);
  return addon.int8.entropyThreshold(c, binWidth, quantBins);
}

/**
 * The upper edge (j+1)·binWidth of the first bin j where the cumulative count reaches `percentile`% of the total
 * (cumulative·100 >= percentile·total). 0 for an empty histogram.
 * @param percentile in (0, 100], e.g. 99.99.
 */
export function percentileAmax(counts: HistogramCounts, binWidth: number, percentile: number): number {
  const c = toCounts(counts, 'percentileAmax: counts');
  checkNumber(binWidth, 'percentileAmax: binWidth', finiteNonNegative, 'a finite number >= 0');
  checkNumber(percentile, 'percentileAmax: percentile', (p) => p > 0 && p <= 100, 'a number in (0, 100]');
  return addon.int8.percentileThreshold(c, binWidth, percentile);
}

/** The min-max threshold: the largest |x| seen, as is. */
export function minMaxAmax(maxAbs: number): number {
  checkNumber(maxAbs, 'minMaxAmax: maxAbs', finiteNonNegative, 'a finite number >= 0');
  return addon.int8.minMaxThreshold(maxAbs);
}


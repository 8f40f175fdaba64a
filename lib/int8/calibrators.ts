/**
 * INT8 calibrators, TensorRT-style: `EntropyCalibrator` (TensorRT's entropy calibrator v2), `MinMaxCalibrator` and
 * `PercentileCalibrator`. A calibrator holds the user's batches and how to turn a tensor's values into its INT8 range
 * (amax); the builder runs the fp32 network over the batches (lib/int8/calibration-run.ts) and gives each calibrated
 * tensor's values to the calibrator's per-tensor statistic. The scale stored and used is amax / 127.
 *
 * With `cacheFile`, a readable cache (TensorRT's text format or inferrt's) skips calibration and a calibration
 * writes one. A calibrator calibrates once: later builds with it reuse its scales, as TensorRT's calibrators do
 * through their cache.
 */
import { InferrtError } from '../errors.js';
import { describeValue, type TensorInput } from '../tensor.js';
import type { CalibrationAlgorithm } from './cache-header.js';
import { AmaxHistogram, DEFAULT_HISTOGRAM_BINS, DEFAULT_QUANT_BINS, entropyAmax } from './statistics.js';

/** One batch of network inputs by name, as `ExecutionContext.infer` takes them. */
export type CalibrationBatch = Record<string, TensorInput>;
/** Where batches come from: any iterable or async iterable (an async generator reading files, say). */
export type CalibrationBatches = Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch>;

/** Options every calibrator takes. */
export interface CalibratorOptions {
  /** The calibration batches (typically 500 to 1,000 representative samples in all). Read once, in order. */
  batches: CalibrationBatches;
  /** Stop after this many batches. Default: all of them. */
  maxBatches?: number;
  /** Calibration cache file: read before calibrating (calibration is skipped when it exists), written after. */
  cacheFile?: string;
}

/** A tensor's running statistic during calibration: values in, amax out. */
export interface TensorStatistic extends Disposable {
  /** Adds one batch of the tensor's values (float32). */
  add(values: Float32Array): void;
  /** The INT8 range of everything added: the scale is amax / 127. 0 when every value was 0. */
  amax(): number;
}

/** The base of the calibrators: the batches, the cache file, and the statistic each tensor gets. */
export abstract class Calibrator {
  /** The name written into the cache header (TensorRT's names where the algorithm is TensorRT's). */
  abstract readonly algorithm: CalibrationAlgorithm;
  readonly batches: CalibrationBatches;
  readonly maxBatches: number;
  readonly cacheFile: string | undefined;
  /** The scales of the latest calibration or cache read, by tensor name; undefined before the first build. */
  get scales(): ReadonlyMap<string, number> | undefined {
    return knownScales.get(this);
  }

  protected constructor(options: CalibratorOptions, what: string) {
    if (typeof options !== 'object' || options === null) throw invalid(`${what}: options must be an object, got ${describeValue(options)}`);
    const b = options.batches as unknown;
    const iterable = typeof b === 'object' && b !== null && (Symbol.iterator in b || Symbol.asyncIterator in b);
    if (!iterable) throw invalid(`${what}: options.batches must be an iterable or async iterable of input batches, got ${describeValue(b)}`);
    this.batches = options.batches;
    const max = options.maxBatches ?? Infinity;
    if (max !== Infinity && (!Number.isSafeInteger(max) || max < 1)) throw invalid(`${what}: options.maxBatches must be an integer >= 1, got ${String(max)}`);
    this.maxBatches = max;
    const file = options.cacheFile;
    if (file !== undefined && (typeof file !== 'string' || file === '' || file.includes('\0'))) {
      throw invalid(`${what}: options.cacheFile must be a non-empty file path, got ${describeValue(file)}`);
    }
    this.cacheFile = file;
  }

  /** A new statistic for one tensor. */
  abstract createStatistic(): TensorStatistic;
}

/** Each calibrator's scales, set only by the builder's calibration (lib/int8/calibration-run.ts). */
const knownScales = new WeakMap<Calibrator, ReadonlyMap<string, number>>();

/** @internal Records the scales `calibrator` produced or read, for later builds with it. */
export function rememberScales(calibrator: Calibrator, scales: ReadonlyMap<string, number>): void {
  knownScales.set(calibrator, scales);
}

function invalid(message: string): InferrtError {
  return new InferrtError('INVALID_ARGUMENT', message);
}

/** A histogram of |x| read by `threshold` when calibration ends. */
class HistogramStatistic implements TensorStatistic {
  readonly #histogram: AmaxHistogram;
  constructor(bins: number, private readonly threshold: (h: AmaxHistogram) => number) {
    this.#histogram = new AmaxHistogram({ bins });
  }
  add(values: Float32Array): void {
    this.#histogram.add(values);
  }
  amax(): number {
    return this.threshold(this.#histogram);
  }
  [Symbol.dispose](): void {
    this.#histogram.dispose();
  }
}

/** Options of {@link EntropyCalibrator}. */
export interface EntropyCalibratorOptions extends CalibratorOptions {
  /** Histogram bins. Default 2048. */
  bins?: number;
  /** Quantization levels the KL divergence is measured against. Default 128. */
  quantBins?: number;
}

/**
 * TensorRT's entropy calibration (v2): a 2048-bin histogram of |x| per tensor, and the threshold whose 128-level
 * quantization has the least KL divergence from it. The default for CNNs.
 *
 * Bin 0 (which holds the exact zeros) counts as much as bin 1 in the divergence, as NVIDIA's pytorch-quantization
 * does: after a ReLU a third or more of the values are exactly 0, which every scale represents exactly, and their
 * spike otherwise pulls the threshold down (on the Fashion-MNIST CNN: top-1 89.58% instead of 91.14%; fp32 91.20%).
 */
export class EntropyCalibrator extends Calibrator {
  readonly algorithm = 'EntropyCalibration2';
  readonly bins: number;
  readonly quantBins: number;
  constructor(options: EntropyCalibratorOptions) {
    super(options, 'EntropyCalibrator');
    this.bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
    this.quantBins = options.quantBins ?? DEFAULT_QUANT_BINS;
    if (!Number.isSafeInteger(this.bins) || this.bins < 1) throw invalid(`EntropyCalibrator: options.bins must be an integer >= 1, got ${String(options.bins)}`);
    if (!Number.isSafeInteger(this.quantBins) || this.quantBins < 1 || this.quantBins > this.bins) {
      throw invalid(`EntropyCalibrator: options.quantBins must be an integer in [1, bins = ${this.bins}], got ${String(options.quantBins)}`);
    }
  }
  createStatistic(): TensorStatistic {
    return new HistogramStatistic(this.bins, (h) => {
      const counts = h.counts();
      if (counts.length > 1) counts[0] = counts[1];
      return entropyAmax(counts, h.binWidth, this.quantBins);
    });
  }
}

/** TensorRT's min-max calibration: amax is the largest |x| seen. Often better than entropy for transformers. */
export class MinMaxCalibrator extends Calibrator {
  readonly algorithm = 'MinMaxCalibration';
  constructor(options: CalibratorOptions) {
    super(options, 'MinMaxCalibrator');
  }
  createStatistic(): TensorStatistic {
    let amax = 0;
    return {
      add(values: Float32Array): void {
        for (const v of values) {
          const a = Math.abs(v);
          if (a > amax && a !== Infinity) amax = a;  // NaN fails the comparison
        }
      },
      amax: () => amax,
      [Symbol.dispose](): void {},
    };
  }
}

/** Options of {@link PercentileCalibrator}. */
export interface PercentileCalibratorOptions extends CalibratorOptions {
  /** The share of |x| values (in percent, (0, 100]) the range must hold. Default 99.99. */
  percentile?: number;
  /** Histogram bins. Default 2048. */
  bins?: number;
}

/** Percentile calibration: amax is the given percentile of |x| (from a 2048-bin histogram). */
export class PercentileCalibrator extends Calibrator {
  readonly algorithm = 'PercentileCalibration';
  readonly percentile: number;
  readonly bins: number;
  constructor(options: PercentileCalibratorOptions) {
    super(options, 'PercentileCalibrator');
    this.percentile = options.percentile ?? 99.99;
    this.bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
    if (typeof this.percentile !== 'number' || !(this.percentile > 0 && this.percentile <= 100)) {
      throw invalid(`PercentileCalibrator: options.percentile must be a number in (0, 100], got ${String(options.percentile)}`);
    }
    if (!Number.isSafeInteger(this.bins) || this.bins < 1) throw invalid(`PercentileCalibrator: options.bins must be an integer >= 1, got ${String(options.bins)}`);
  }
  createStatistic(): TensorStatistic {
    return new HistogramStatistic(this.bins, (h) => h.percentileAmax(this.percentile));
  }
}

/**
 * Running a calibration: which tensors get scales, the fp32 engine that produces their values, and the loop over
 * the calibrator's batches. The builder calls {@link calibrationScales} before an INT8 build.
 *
 * The calibrated tensors are the float32 inputs of MatMul and Convolution layers (the ones the INT8 pass can
 * quantize). They are marked as extra outputs of the user's network for the fp32 build and unmarked right after it.
 */
import type { Engine } from '../engine.js';
import { InferrtError } from '../errors.js';
import type { NetworkDefinition, NetworkTensor } from '../network.js';
import type { Tensor, TensorInput } from '../tensor.js';
import { tryReadCalibrationCacheFile, writeCalibrationCacheFile } from './calibration-cache-file.js';
import { rememberScales, type Calibrator, type TensorStatistic } from './calibrators.js';
import { scaleOfAmax } from './scale-bits.js';

/** Progress of a calibration: `batches` done so far (of `maxBatches`, when the calibrator bounds them). */
export type CalibrationProgress = (message: string, batches: number, maxBatches: number) => void;

/** The tensors whose scales an INT8 build can use: float32 input 0 of each MatMul and Convolution layer. */
export function calibrationTensors(network: NetworkDefinition): NetworkTensor[] {
  const seen = new Map<string, NetworkTensor>();
  for (let i = 0; i < network.numLayers; i++) {
    const layer = network.getLayer(i);
    if (layer.kind !== 'MatMul' && layer.kind !== 'Convolution') continue;
    const x = layer.inputs[0];
    if (x && x.dtype === 'float32' && !x.isConstant) seen.set(x.name, x);
  }
  return [...seen.values()];
}

function float32Of(value: TensorInput | Tensor, name: string): Float32Array {
  const data = ArrayBuffer.isView(value) ? value : (value as { data: unknown }).data;
  if (!(data instanceof Float32Array)) throw new InferrtError('DTYPE_MISMATCH', `calibration: tensor '${name}' must be float32 to calibrate, got ${data?.constructor?.name ?? typeof data}`);
  return data;
}

/**
 * The scales (amax / 127) of `tensors`, from the calibrator's earlier result, its cache file, or a calibration run
 * on `buildEngine(network)` (an fp32 engine with every calibrated tensor as an output). Tensors whose values were
 * all 0 get no scale (their layers stay float).
 */
export async function calibrationScales(
  calibrator: Calibrator, network: NetworkDefinition, buildEngine: () => Promise<Engine>,
  progress: CalibrationProgress, signal?: AbortSignal,
): Promise<ReadonlyMap<string, number>> {
  if (calibrator.scales) return calibrator.scales;
  if (calibrator.cacheFile) {
    const cache = await tryReadCalibrationCacheFile(calibrator.cacheFile);
    if (cache) {
      progress(`read ${cache.scales.size} scales from calibration cache '${calibrator.cacheFile}' (${cache.format} ${cache.algorithm})`, 0, 0);
      rememberScales(calibrator, cache.scales);
      return cache.scales;
    }
  }
  const tensors = calibrationTensors(network);
  const added = tensors.filter((t) => !t.isOutput && !t.isInput);
  for (const t of added) network.markOutput(t);
  let engine: Engine;
  try {
    engine = await buildEngine();
  } finally {
    for (const t of added) network.unmarkOutput(t);
  }
  const statistics = new Map<string, TensorStatistic>(tensors.map((t) => [t.name, calibrator.createStatistic()]));
  try {
    using ctx = engine.createContext();
    let batches = 0;
    for await (const batch of calibrator.batches) {
      signal?.throwIfAborted();
      const outputs = await ctx.infer(batch);
      for (const [name, statistic] of statistics) {
        const values = name in outputs ? outputs[name] : batch[name];
        if (values === undefined) throw new InferrtError('INTERNAL', `calibration: no values for tensor '${name}'`);
        statistic.add(float32Of(values, name));
      }
      progress(`calibrated on ${++batches} batch${batches === 1 ? '' : 'es'}`, batches, calibrator.maxBatches);
      if (batches >= calibrator.maxBatches) break;
    }
    if (batches === 0) throw new InferrtError('INVALID_ARGUMENT', `calibration: the calibrator's batches yielded no batch`);
    const scales = new Map<string, number>();
    for (const [name, statistic] of statistics) {
      const scale = scaleOfAmax(statistic.amax());
      if (scale > 0 && Number.isFinite(scale)) scales.set(name, scale);
    }
    rememberScales(calibrator, scales);
    if (calibrator.cacheFile) await writeCalibrationCacheFile(calibrator.cacheFile, { algorithm: calibrator.algorithm, scales });
    return scales;
  } finally {
    for (const s of statistics.values()) s[Symbol.dispose]();
    engine.dispose();
  }
}

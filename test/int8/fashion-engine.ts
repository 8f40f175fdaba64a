/**
 * Top-1 of the Fashion-MNIST CNN fixture on the 10,000 real test images under a build config, on either backend,
 * and the calibrators the INT8 accuracy tests compare: each calibrates on the first 1,000 training images.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  Builder, EntropyCalibrator, MinMaxCalibrator, PercentileCalibrator, Runtime, tensor, type Backend, type BuilderConfigOptions,
  type Calibrator, type EngineLayer,
} from '../../lib/index.js';
import { OnnxParser } from '../../lib/onnx/index.js';
import { FASHION_FIXTURE_DIR, fashionBatch, loadFashionMnist, top1, type FashionSplit } from '../fashion-mnist.js';

export const FASHION_FP32_MODEL = path.join(FASHION_FIXTURE_DIR, 'fashion_cnn_torchscript_op17.onnx');
export const FASHION_QDQ_MODEL = path.join(FASHION_FIXTURE_DIR, 'fashion_cnn_qdq_op17.onnx');
export const FASHION_DYNAMIC_MODEL = path.join(FASHION_FIXTURE_DIR, 'fashion_cnn_dynamic_op17.onnx');
const BATCH = 500;
const CALIBRATION_BATCH = 100;

export interface FashionRun {
  top1: number;
  log: string[];
  layers: EngineLayer[];
  logits: Float32Array;
}

/** Builds `model` with `config` (plus a batch profile up to 500) on `backend` and classifies every image of `split`. */
export async function fashionTop1(model: string, split: FashionSplit, config: BuilderConfigOptions, backend: Backend = 'cpu'): Promise<FashionRun> {
  const builder = new Builder({ backend });
  const plan = await (async () => {
    using network = builder.createNetwork();
    OnnxParser.parse(network, fs.readFileSync(model));
    const profile = { image: { min: [1, 1, 28, 28], opt: [BATCH, 1, 28, 28], max: [BATCH, 1, 28, 28] } };
    return await builder.build(network, builder.createConfig({ ...config, profiles: [profile] }));
  })();
  using engine = await Runtime.load(plan);
  using ctx = engine.createContext();
  const logits = new Float32Array(split.count * 10);
  for (let start = 0; start < split.count; start += BATCH) {
    const images = fashionBatch(split, start, BATCH);
    const out = await ctx.infer({ image: tensor(images, [images.length / 784, 1, 28, 28]) });
    logits.set(out.logits.data as Float32Array, start * 10);
  }
  return { top1: top1(logits, split.labels), log: [...plan.buildLog], layers: engine.layers, logits };
}

/** The calibration batches: the first 1,000 training images, 100 at a time. */
export function calibrationBatches(): Array<{ image: ReturnType<typeof tensor> }> {
  const train = loadFashionMnist('train', 1000);
  return Array.from({ length: train.count / CALIBRATION_BATCH }, (_, i) => ({
    image: tensor(fashionBatch(train, i * CALIBRATION_BATCH, CALIBRATION_BATCH).slice(), [CALIBRATION_BATCH, 1, 28, 28]),
  }));
}

/** The three calibrators, each over the same batches. */
export function fashionCalibrators(): Array<[string, Calibrator]> {
  const batches = calibrationBatches();
  return [
    ['entropy', new EntropyCalibrator({ batches })],
    ['minmax', new MinMaxCalibrator({ batches })],
    ['percentile 99.99', new PercentileCalibrator({ batches, percentile: 99.99 })],
  ];
}

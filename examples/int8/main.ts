/**
 * `npm run example:int8 [-- MODEL.onnx] [--backend cpu|cuda|auto] [--cache FILE]`: post-training INT8 calibration
 * of the Fashion-MNIST CNN (test/fixtures/models/fashion, trained and exported by PyTorch) on real data. It calibrates
 * with TensorRT-style entropy calibration on 1,000 training images (writing a calibration cache, which a second
 * run reads instead of calibrating), builds fp32 and int8 engines, classifies the 10,000 test images with both and
 * prints top-1, which layers run in int8, and the first lines of the cache. Needs Debian's dataset-fashion-mnist.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Builder, EntropyCalibrator, OnnxParser, Runtime, tensor, type Backend, type BuilderConfigOptions, type Engine,
} from '../../lib/index.js';
import { fashionBatch, fashionMnistSkipReason, loadFashionMnist, top1, type FashionSplit } from '../fashion-mnist.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const backend = (option('--backend') ?? 'auto') as Backend | 'auto';
const cacheFile = option('--cache') ?? path.join(os.tmpdir(), 'inferrt-fashion-cnn.calibration');
const modelPath = args[0] ?? path.join(here, '../../test/fixtures/models/fashion/fashion_cnn_torchscript_op17.onnx');
const BATCH = 500;

async function build(config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  OnnxParser.parse(network, fs.readFileSync(modelPath));
  const profile = { image: { min: [1, 1, 28, 28], opt: [BATCH, 1, 28, 28], max: [BATCH, 1, 28, 28] } };
  let calibrated = false;
  const plan = await builder.build(network, builder.createConfig({ ...config, profiles: [profile] }), {
    onProgress: (p) => {
      if (p.stage !== 'calibrate') return;
      calibrated = true;
      process.stdout.write(`\r  calibrate: ${p.message}        `);
    },
  });
  if (calibrated) process.stdout.write('\n');
  for (const line of plan.buildLog) if (line.startsWith('int8:')) console.log(`  build: ${line}`);
  return Runtime.load(plan);
}

async function classify(engine: Engine, images: FashionSplit): Promise<number> {
  using ctx = engine.createContext();
  const logits = new Float32Array(images.count * 10);
  for (let start = 0; start < images.count; start += BATCH) {
    const batch = fashionBatch(images, start, BATCH);
    const out = await ctx.infer({ image: tensor(batch, [batch.length / 784, 1, 28, 28]) });
    logits.set(out.logits!.data as Float32Array, start * 10);
  }
  return top1(logits, images.labels);
}

async function main(): Promise<void> {
  const missing = fashionMnistSkipReason();
  if (missing) throw new Error(missing);
  const test = loadFashionMnist('t10k');
  const train = loadFashionMnist('train', 1000);
  // Ten batches of 100 training images; an array can be read again by a later build with the same calibrator.
  const batches = Array.from({ length: 10 }, (_, i) => ({ image: tensor(fashionBatch(train, i * 100, 100).slice(), [100, 1, 28, 28]) }));
  console.log(`model ${path.basename(modelPath)}; calibration cache ${cacheFile}${fs.existsSync(cacheFile) ? ' (exists: read instead of calibrating)' : ''}`);

  using fp32 = await build({ precision: [] });
  using int8 = await build({ precision: ['int8'], int8Calibrator: new EntropyCalibrator({ batches, cacheFile }) });
  const [a, b] = [await classify(fp32, test), await classify(int8, test)];
  console.log(`backend ${int8.info.backend}: top-1 on ${test.count} test images: fp32 ${(a * 100).toFixed(2)}%, int8 ${(b * 100).toFixed(2)}% (${((b / a) * 100).toFixed(2)}% of fp32)`);
  console.log('int8 engine layers:');
  for (const l of int8.layers) console.log(`  ${l.precision.padEnd(5)} ${l.kind.padEnd(22)} ${l.name}`);
  console.log(`calibration cache (first lines):\n  ${fs.readFileSync(cacheFile, 'utf8').split('\n').slice(0, 4).join('\n  ')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

/**
 * INT8 on CUDA engines: the Fashion-MNIST CNN with min-max calibration gives, on all 10,000 test images, the CPU
 * backend's INT8 logits bit for bit (its INT8 layers and QuantizeLinear run on their CUDA kernels, which equal the CPU
 * kernels: cuda-int8-layers.test.ts), and keeps >= 99.8% of the CUDA fp32 engine's top-1.
 * Needs the Fashion-MNIST files (FASHION_MNIST_DIR; the GPU suite script carries them).
 */
import { describe, expect, it } from 'vitest';
import { fashionMnistSkipReason, loadFashionMnist } from '../fashion-mnist.js';
import { FASHION_FP32_MODEL, calibrationBatches, fashionTop1 } from '../int8/fashion-engine.js';
import { MinMaxCalibrator } from '../../lib/index.js';
import { cudaSkipReason, reportSkipped } from './helpers.js';

const skip = cudaSkipReason || fashionMnistSkipReason();
if (skip) {
  reportSkipped('INT8 on CUDA engines', skip);
} else {
  describe('INT8 on CUDA engines (Fashion-MNIST CNN)', () => {
    const test = loadFashionMnist('t10k');
    it('min-max-calibrated INT8 gives the CPU INT8 engine\'s logits bit for bit and keeps >= 99.8% of fp32', async () => {
      const fp32 = await fashionTop1(FASHION_FP32_MODEL, test, { precision: [] }, 'cuda');
      // One calibrator for both builds: it calibrates on the CPU build and the CUDA build reuses its scales, so both
      // engines quantize with the same scales and every later step is exact or rounds the same way.
      const calibrator = new MinMaxCalibrator({ batches: calibrationBatches() });
      const cpu = await fashionTop1(FASHION_FP32_MODEL, test, { precision: ['int8'], int8Calibrator: calibrator }, 'cpu');
      const gpu = await fashionTop1(FASHION_FP32_MODEL, test, { precision: ['int8'], int8Calibrator: calibrator }, 'cuda');
      console.log(`Fashion-MNIST top-1 (CUDA engines): fp32 ${(fp32.top1 * 100).toFixed(2)}%, int8 min-max ${(gpu.top1 * 100).toFixed(2)}% (CPU int8 ${(cpu.top1 * 100).toFixed(2)}%)`);
      expect(gpu.layers.filter((l) => l.precision === 'int8' && l.runsOn === 'cuda')).toHaveLength(4);
      let differing = 0;
      for (let i = 0; i < gpu.logits.length; i++) if (!Object.is(gpu.logits[i], cpu.logits[i])) differing++;
      expect(differing).toBe(0);
      expect(gpu.top1).toBeGreaterThanOrEqual(0.998 * fp32.top1);
    });
  });
}

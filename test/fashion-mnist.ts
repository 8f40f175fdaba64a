/**
 * The INT8 tests' view of Fashion-MNIST: the loader (examples/fashion-mnist.ts) and the CNN fixture trained on it
 * (test/fixtures/fashion_mnist.py) with its training report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { modelsDir } from './fixtures/manifest.js';

export {
  FASHION_MNIST_DIR, fashionBatch, fashionMnistSkipReason, loadFashionMnist, top1, type FashionSplit,
} from '../examples/fashion-mnist.js';

export const FASHION_FIXTURE_DIR = path.join(modelsDir, 'fashion');

/** The fixture's training report: top-1 of PyTorch and onnxruntime on the 10,000 test images per file. */
export function fashionReport(): { top1: Record<string, number> } {
  return JSON.parse(fs.readFileSync(path.join(FASHION_FIXTURE_DIR, 'fashion_cnn.json'), 'utf8'));
}

/**
 * Fashion-MNIST from Debian's dataset-fashion-mnist package (`apt-get install dataset-fashion-mnist`): images as
 * float32 [n, 1, 28, 28] with pixel / 255, the input of the CNN in test/fixtures/models/fashion. Used by
 * `npm run example:int8` and the INT8 accuracy tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** Why the Fashion-MNIST files can't be read here, or undefined when they can. */
export function fashionMnistSkipReason(): string | undefined {
  if (fs.existsSync(path.join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))) return undefined;
  return `Fashion-MNIST not found in ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR)`;
}

export interface FashionSplit {
  count: number;
  /** float32 [count, 1, 28, 28], pixel / 255. */
  images: Float32Array;
  labels: Uint8Array;
}

function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  const bytes = gunzipSync(fs.readFileSync(path.join(FASHION_MNIST_DIR, file)));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${file}: not an IDX file of the expected kind (magic ${view.getUint32(0)})`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * rank) };
}

/** Loads `limit` (default all) images of the 'train' (60,000) or 't10k' (10,000) split, from the first. */
export function loadFashionMnist(split: 'train' | 't10k', limit = Infinity): FashionSplit {
  const images = readIdx(`${split}-images-idx3-ubyte.gz`, 0x803);
  const labels = readIdx(`${split}-labels-idx1-ubyte.gz`, 0x801);
  const count = Math.min(images.dims[0], labels.dims[0], limit);
  const pixels = 28 * 28;
  const floats = new Float32Array(count * pixels);
  for (let i = 0; i < floats.length; i++) floats[i] = images.data[i] / 255;
  return { count, images: floats, labels: labels.data.slice(0, count) };
}

/** Images [start, start + n) of a split as one batch. */
export function fashionBatch(split: FashionSplit, start: number, n: number): Float32Array {
  return split.images.subarray(start * 784, Math.min(split.count, start + n) * 784);
}

/** Top-1 accuracy of logits [n, 10] against labels. */
export function top1(logits: Float32Array, labels: Uint8Array): number {
  const n = logits.length / 10;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    if (best === labels[i]) right++;
  }
  return right / n;
}

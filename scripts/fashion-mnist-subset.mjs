#!/usr/bin/env node
// Writes the Fashion-MNIST files the GPU suite needs into OUT_DIR (default .fashion-gpu): the 10,000 test images
// and the first 1,000 training images (what the INT8 tests calibrate on), small enough to travel to the GPU machine,
// which has no Debian dataset package. Usage: node scripts/fashion-mnist-subset.mjs [OUT_DIR]
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const source = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const out = process.argv[2] ?? '.fashion-gpu';
const TRAIN_KEPT = 1000;
fs.mkdirSync(out, { recursive: true });
for (const name of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) fs.copyFileSync(path.join(source, name), path.join(out, name));
for (const [name, itemBytes, headerBytes] of [['train-images-idx3-ubyte.gz', 784, 16], ['train-labels-idx1-ubyte.gz', 1, 8]]) {
  const bytes = gunzipSync(fs.readFileSync(path.join(source, name)));
  const kept = Buffer.from(bytes.subarray(0, headerBytes + TRAIN_KEPT * itemBytes));
  kept.writeUInt32BE(TRAIN_KEPT, 4);  // the item count after the magic
  fs.writeFileSync(path.join(out, name), gzipSync(kept));
}
console.log(`wrote ${out}: test set and the first ${TRAIN_KEPT} training images`);

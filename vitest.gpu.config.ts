import { defineConfig } from 'vitest/config';

// The GPU suite: run on a machine with an NVIDIA GPU and the CUDA build of the addon (`npm run test:gpu`).
export default defineConfig({
  test: {
    include: ['test/gpu/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    reporters: ['verbose'],  // shows each skip reason where there is no GPU
  },
});

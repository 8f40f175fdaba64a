/** CLI defects found in review. */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Engine } from '../../lib/index.js';
import { cli, tinyModel, useTempDir } from './helpers.js';

const at = useTempDir();

beforeAll(async () => {
  await writeFile(at('tiny.onnx'), tinyModel());
  const built = await cli(['build', at('tiny.onnx'), '-o', at('tiny.plan'), '--shapes', 'x:min=1x4,opt=4x4,max=16x4;mask:min=1x3,opt=4x3,max=16x3', '-q']);
  expect(built.code, built.stderr).toBe(0);
});

describe('inferrt bench', () => {
  it('disposes the engine when the batcher cannot be made, and names --batch', async () => {
    const dispose = vi.spyOn(Engine.prototype, 'dispose');
    try {
      const r = await cli(['bench', at('tiny.plan'), '--scenario', 'offline', '--batch', '32', '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error INVALID_ARGUMENT: --batch 32: maxBatch \(32\) exceeds the axis-0 max of input 'x' in optimization profile 0 \(16\)/);
      expect(dispose).toHaveBeenCalledTimes(1);
    } finally {
      dispose.mockRestore();
    }
  });
});

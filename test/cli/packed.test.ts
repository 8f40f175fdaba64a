/**
 * `--packed-sequences SEQxBATCH` on the CLI: an HF BERT export built with it becomes a packed engine (inputs
 * input_ids, segment_ids, cu_seqlens with the packed profile, PackedAttention plugins), a malformed value fails with
 * one line, and `inferrt bench` refuses a packed plan with a message that says why and what to use instead.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../../lib/cli/commands/inspect.js';
import { modelsDir } from '../fixtures/manifest.js';
import { cli, tempDir } from './helpers.js';

const BERT = path.join(modelsDir, 'bert_torchscript_op13.onnx');
let dir = '';
let cleanup: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('inferrt --packed-sequences', () => {
  it('builds the packed engine: packed inputs and profile, PackedAttention layers', async () => {
    const plan = path.join(dir, 'packed.plan');
    const built = await cli(['build', BERT, '-o', plan, '--packed-sequences', '32x4', '--backend', 'cpu']);
    expect(built.code, built.stderr).toBe(0);
    const report = JSON.parse((await cli(['inspect', '--json', plan])).stdout) as InspectReport;
    expect(report.inputs.map((i) => [i.name, i.dtype, i.dims, i.profiles[0]!.max])).toEqual([
      ['input_ids', 'int32', [-1], [128]], ['segment_ids', 'int32', [-1], [128]], ['cu_seqlens', 'int32', [-1], [5]],
    ]);
    expect(report.layers.filter((l) => l.kind === 'Plugin').length).toBeGreaterThanOrEqual(5);

    const bench = await cli(['bench', plan, '--scenario', 'offline']);
    expect(bench.code).not.toBe(0);
    expect(bench.stderr).toMatch(/is a packed-sequence engine \(input cu_seqlens\): inferrt bench does not pack requests into it yet/);
  });

  it('rejects a value that is not SEQxBATCH, with one line', async () => {
    const r = await cli(['inspect', BERT, '--packed-sequences', '384']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/option '--packed-sequences' must be SEQxBATCH, e\.g\. 384x64/);
  });
});

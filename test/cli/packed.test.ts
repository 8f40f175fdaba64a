/**
 * `--packed-sequences SEQxBATCH` on the CLI: an HF BERT export built with it becomes a packed engine (inputs
 * input_ids, segment_ids, cu_seqlens with the packed profile, PackedAttention plugins), a malformed value fails with
 * one line, and `inferrt bench` builds one in memory and packs the --input sequence (test/cli/bench-packed.test.ts
 * measures packed plans in detail). With --approximate-gelu the build log counts the GELUs that took the tanh form.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InspectReport } from '../../lib/cli/commands/inspect.js';
import { writeNpyFile } from '../../lib/npy.js';
import { modelsDir } from '../fixtures/manifest.js';
import { cli, useTempDir } from './helpers.js';

const BERT = path.join(modelsDir, 'bert_torchscript_op13.onnx');
const at = useTempDir();

describe('inferrt --packed-sequences', () => {
  it('builds the packed engine: packed inputs and profile, PackedAttention layers', async () => {
    const plan = at('packed.plan');
    const built = await cli(['build', BERT, '-o', plan, '--packed-sequences', '32x4', '--backend', 'cpu']);
    expect(built.code, built.stderr).toBe(0);
    const report = JSON.parse((await cli(['inspect', '--json', plan])).stdout) as InspectReport;
    expect(report.inputs.map((i) => [i.name, i.dtype, i.dims, i.profiles[0]!.max])).toEqual([
      ['input_ids', 'int32', [-1], [128]], ['segment_ids', 'int32', [-1], [128]], ['cu_seqlens', 'int32', [-1], [5]],
    ]);
    expect(report.layers.filter((l) => l.kind === 'Plugin').length).toBeGreaterThanOrEqual(5);

  });

  it('bench builds the packed engine in memory; --input is one sequence of the packed engine, not the ONNX inputs', async () => {
    const ids = at('ids.npy');
    await writeNpyFile(ids, { dtype: 'int64', shape: [7], data: BigInt64Array.from([5n, 9n, 2n, 11n, 3n, 3n, 8n]) });
    const bench = await cli(['bench', BERT, '--packed-sequences', '32x4', '--backend', 'cpu', '--scenario', 'offline', '--batch', '4', '--duration', '0.1', '-q', '--input', `input_ids=${ids}`]);
    expect(bench.code, bench.stderr).toBe(0);
    expect(bench.stdout).toMatch(/packed-sequence batcher \(max 4 sequences, 128 tokens per run, max delay 1 ms; the --input sequence\)/);
    expect(bench.stdout).toMatch(/batcher: \d+ sequences in \d+ packed batches .* max 4 sequences, 28 tokens/);
  });

  it('with --approximate-gelu, the packed FullyConnected GELUs take the tanh form and the build log says so', async () => {
    const built = await cli(['build', BERT, '-o', at('tanh.plan'), '--packed-sequences', '32x4', '--approximate-gelu', '--backend', 'cpu', '--verbose']);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('approximateGelu: 2 fused GELUs computed with the tanh approximation');
  });

  it('rejects a value that is not SEQxBATCH, with one line', async () => {
    const r = await cli(['inspect', BERT, '--packed-sequences', '384']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/option '--packed-sequences' must be SEQxBATCH, e\.g\. 384x64/);
  });
});

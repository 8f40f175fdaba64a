/**
 * `inferrt bench` on a packed-sequence plan (BERT fixture, CPU backend, short runs): requests are single
 * sequences of --seq-len tokens (or the --input sequence) packed by the batcher into runs of up to --batch
 * sequences; the report and the JSON record say so; usage errors name the flag.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpyFile } from '../../lib/npy.js';
import { loadManifest, modelsDir } from '../fixtures/manifest.js';
import { cli, tinyModel, useTempDir } from './helpers.js';

const at = useTempDir();

const haveFixtures = loadManifest() !== null;
const STATS = /batcher: (\d+) sequences in (\d+) packed batches \(mean ([\d.]+) sequences, ([\d.]+) tokens; max (\d+) sequences, (\d+) tokens; warm-up included\)/;

describe.skipIf(!haveFixtures)('inferrt bench on a packed-sequence plan', () => {
  beforeAll(async () => {
    const built = await cli(['build', path.join(modelsDir, 'bert_torchscript_op13.onnx'), '-o', at('bert.plan'), '--packed-sequences', '24x4', '-q']);
    expect(built.code, built.stderr).toBe(0);
  });

  it('runs Offline with synthesized sequences packed several to a run, and records the packed settings', async () => {
    const r = await cli(['bench', at('bert.plan'), '--scenario', 'offline', '--batch', '4', '--seq-len', '6', '--duration', '0.2', '-q', '--json', at('packed.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/packed-sequence batcher \(max 4 sequences, 96 tokens per run, max delay 1 ms; sequences of 6 tokens\)/);
    expect(r.stdout).toMatch(/Result is\s+: VALID/);
    const stats = STATS.exec(r.stdout);
    expect(stats, r.stdout).not.toBeNull();
    const [, sequences, batches, , meanTokens, maxSequences, maxTokens] = stats!.map(Number);
    expect(batches).toBeLessThan(sequences!);
    expect(maxSequences).toBeLessThanOrEqual(4);
    expect(maxSequences).toBeGreaterThan(1);
    expect(maxTokens).toBe(maxSequences! * 6);
    expect(meanTokens).toBeGreaterThan(6);
    const record = JSON.parse(await readFile(at('packed.json'), 'utf8'));
    expect(record).toMatchObject({
      scenario: 'Offline',
      bench: { batch: 4, seqLen: 6, maxDelayMs: 1, packedSequences: { maxSequenceLength: 24, maxBatch: 4, maxTokens: 96, segmentIds: true } },
    });
  });

  it('defaults --seq-len to the engine\'s maxSequenceLength when it is below 128, and runs --batch 1 through the batcher', async () => {
    const r = await cli(['bench', at('bert.plan'), '--scenario', 'singlestream', '--duration', '0.1', '--min-queries', '10', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/max 1 sequences.*sequences of 24 tokens/);
    expect(STATS.exec(r.stdout)?.[6]).toBe('24');
  });

  it('takes one sequence from --input files', async () => {
    await writeNpyFile(at('ids.npy'), { dtype: 'int64', shape: [5], data: BigInt64Array.from([2n, 7n, 9n, 4n, 3n]) });
    await writeNpyFile(at('seg.npy'), { dtype: 'int32', shape: [5], data: Int32Array.from([0, 0, 0, 1, 1]) });
    const r = await cli(['bench', at('bert.plan'), '--scenario', 'offline', '--batch', '3', '--duration', '0.1', '-q', '--input', `input_ids=${at('ids.npy')}`, '--input', `segment_ids=${at('seg.npy')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the --input sequence/);
    const stats = STATS.exec(r.stdout);
    expect(Number(stats![6]) % 5).toBe(0);
  });

  it('names the flag in usage errors', async () => {
    await writeNpyFile(at('ids2d.npy'), { dtype: 'int32', shape: [1, 5], data: new Int32Array(5).fill(2) });
    await writeFile(at('tiny.onnx'), tinyModel());
    const cases: Array<[string[], RegExp]> = [
      [['--seq-len', '25'], /--seq-len 25 is longer than the engine takes \(its maxSequenceLength 24\)/],
      [['--batch', '5'], /--batch 5: maxBatch \(5\) exceeds the packed-sequence engine's maxBatch 4/],
      [['--input', `cu_seqlens=${at('ids2d.npy')}`], /'cu_seqlens' is not an input of a packed-sequence request.*cu_seqlens is made as requests are packed/],
      [['--input', `input_ids=${at('ids2d.npy')}`], /input 'input_ids' is one sequence, shape \[L\], but '.*ids2d\.npy' holds shape \[1, 5\]/],
      [['--input', `input_ids=${at('ids2d.npy')}`, '--seq-len', '4'], /--seq-len sets the length of synthesized sequences/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli(['bench', at('bert.plan'), '--scenario', 'offline', '--duration', '0.1', '-q', ...flags]);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.stderr, flags.join(' ')).toMatch(message);
    }
    const tiny = await cli(['bench', at('tiny.onnx'), '--shapes', 'x:1x4;mask:1x3', '--scenario', 'offline', '--seq-len', '8', '-q']);
    expect(tiny.code).toBe(1);
    expect(tiny.stderr).toMatch(/--seq-len applies to packed-sequence engines/);
  });
});

/** `inferrt prune`: the written model, the per-layer report, --layers, --json, -q, and the typed error path. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pruneModel } from '../../lib/index.js';
import { decode, expectTwoFour, mlpModel, weightOf } from '../sparsity/helpers.js';
import { cli, demoCnnPath, useTempDir } from './helpers.js';

const at = useTempDir();
const cnn = demoCnnPath();

beforeAll(async () => {
  await writeFile(at('mlp.onnx'), mlpModel());
  await writeFile(at('junk.onnx'), new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
});

describe('inferrt prune', () => {
  it.skipIf(!cnn)('prunes the demo CNN: writes the 2:4 model and reports each layer and the total', async () => {
    const r = await cli(['prune', cnn!, '-o', at('cnn.sparse.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    const original = await readFile(cnn!);
    const written = await readFile(at('cnn.sparse.onnx'));
    const expected = pruneModel(original);
    expect(new Uint8Array(written)).toEqual(new Uint8Array(expected.model));
    for (const l of expected.layers) {
      const line = r.stdout.split('\n').find((x) => x.includes(` ${l.initializer} `))!;
      expect(line, l.initializer).toContain(l.users[0]!.node);
      if (l.pruned) {
        const share = expectTwoFour(weightOf(decode(original), l.initializer).values, weightOf(decode(written), l.initializer).values, l.dims, l.axis);
        expect(line).toContain(`${share.toFixed(2)}%`);
      } else {
        expect(line).toContain('skipped: reduction length 3 (axis 1) is not a multiple of 4');
      }
    }
    const s = expected.summary;
    expect(r.stdout).toContain(`total: 3 of 4 weights made 2:4, ${s.zeroed} elements zeroed, ${s.removedPercent.toFixed(2)}% of their weight magnitude removed`);
    expect(r.stdout).toMatch(/wrote .*cnn\.sparse\.onnx \(97\.0 KiB\)/);
    expect(r.stdout).toMatch(/note: pruning changes the model's outputs; fine-tune/);
  });

  it('--layers prunes only matching weights; --json prints the report; -q prints just the total', async () => {
    const r = await cli(['prune', at('mlp.onnx'), '-o', at('mlp.fc2.onnx'), '--layers', 'fc2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { input: string; output: string; layers: Array<{ initializer: string; axis: number }>; summary: { pruned: number } };
    const expected = pruneModel(mlpModel(), { layers: 'fc2' });
    expect(report).toEqual({ input: at('mlp.onnx'), output: at('mlp.fc2.onnx'), layers: expected.layers, summary: expected.summary });
    expect(report.layers.map((l) => [l.initializer, l.axis])).toEqual([['G', 1]]);
    const written = decode(await readFile(at('mlp.fc2.onnx')));
    expect(weightOf(written, 'W').values).toEqual(weightOf(decode(mlpModel()), 'W').values);

    const q = await cli(['prune', at('mlp.onnx'), '-o', at('mlp.q.onnx'), '-q']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout.trim().split('\n')).toHaveLength(2);
    expect(q.stdout).toMatch(/^total: 2 of 2 weights made 2:4, 96 elements zeroed, \d+\.\d\d% of their weight magnitude removed\nwrote /);
  });

  it('a pruned model built with --sparse-weights reports both layers eligible; the original reports neither', async () => {
    expect((await cli(['prune', at('mlp.onnx'), '-o', at('mlp.sparse.onnx')])).code).toBe(0);
    const shapes = ['--shapes', 'x:min=1x8,opt=2x8,max=4x8', '--backend', 'cpu', '--verbose', '--sparse-weights'];
    const pruned = await cli(['build', at('mlp.sparse.onnx'), '-o', at('mlp.sparse.plan'), ...shapes]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/sparse weights: 2 of 2 MatMul\/Convolution layers with constant weights are 2:4 along their reduction dimension/);
    const original = await cli(['build', at('mlp.onnx'), '-o', at('mlp.plan'), ...shapes]);
    expect(original.stdout).toMatch(/sparse weights: 0 of 2 MatMul\/Convolution layers/);
    const inspect = await cli(['inspect', at('mlp.sparse.plan'), '--json']);
    const layers = (JSON.parse(inspect.stdout) as { layers: Array<{ kind: string; sparsity?: { eligible: boolean; sparse: boolean } }> }).layers;
    expect(layers.filter((l) => l.sparsity?.eligible && !l.sparsity.sparse)).toHaveLength(2);
  });

  it('is listed in the help, and its --help shows the usage line', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/prune\s+Prune MatMul\/Gemm\/Conv weights to 2:4 sparsity/);
    const h = await cli(['prune', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: inferrt prune MODEL.onnx -o SPARSE.onnx [--layers PATTERN] [--json]');
    expect(h.stdout).toMatch(/fine-tune after pruning/);
  });

  it.each([
    [['prune', 'nope.onnx', '-o', 'x.onnx'], /^inferrt prune: error INVALID_ARGUMENT: cannot read ONNX model 'nope\.onnx': no such file \(ENOENT\)$/],
    [['prune', 'model.plan', '-o', 'x.onnx'], /error INVALID_ARGUMENT: 'model\.plan' is not an \.onnx file; prune takes an ONNX model \(see 'inferrt prune --help'\)/],
    [['prune', 'MLP', '--layers', 'fc'], /error INVALID_ARGUMENT: missing -o\/--output: where to write the pruned model, e\.g\. -o mlp\.sparse\.onnx/],
    [['prune', 'JUNK', '-o', 'OUT'], /^inferrt prune: error INVALID_MODEL: junk\.onnx is not a valid ONNX model: /],
    [['prune', 'MLP', '-o', 'OUT', '--layers', '(fc'], /error INVALID_ARGUMENT: --layers '\(fc' is not a valid regular expression/],
    [['prune', 'MLP', '-o', 'OUT', '--layers', 'conv'], /error INVALID_ARGUMENT: --layers 'conv' matches no MatMul, Gemm or Conv weight of .*mlp\.onnx; weights: W \(fc1\), G \(fc2\)/],
    [['prune', 'MLP', '-o', 'OUT', '--layer', 'fc'], /error INVALID_ARGUMENT: unknown option '--layer' \(did you mean '--layers'\?\)/],
    [['prune', 'MLP', '-o', path.join('no-such-dir', 'x', 'out.onnx')], /error INVALID_ARGUMENT: cannot write the pruned model to '.*out\.onnx': ENOENT/],
  ])('%j fails with a typed error and writes nothing', async (argv, message) => {
    const out = at('err.onnx');
    const args = argv.map((a) => (a === 'MLP' ? at('mlp.onnx') : a === 'JUNK' ? at('junk.onnx') : a === 'OUT' ? out : a));
    const r = await cli(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const target = args[args.indexOf('-o') + 1];
    if (args.includes('-o') && target !== undefined) expect(existsSync(path.resolve(target)), target).toBe(false);
  });
});

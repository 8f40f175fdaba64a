/**
 * build → inspect → run through the CLI (in-process), with outputs checked against onnxruntime-node on the same
 * inputs, and every user error a one-line message with its code and exit code 1.
 */
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../../lib/cli/commands/inspect.js';
import { readNpyFile, writeNpyFile } from '../../lib/npy.js';
import { formatNumber } from '../../lib/cli/format.js';
import { safeFileName } from '../../lib/cli/outputs.js';
import { cli, demoCnnPath, maxRelError, negModel, onnxInputs, ort, ortRun, randomFloats, tinyModel, useTempDir, type CliResult } from './helpers.js';

const at = useTempDir();
const SHAPES = 'x:min=1x4,opt=2x4,max=8x4;mask:min=1x3,opt=2x3,max=8x3';
const x = randomFloats(2 * 4, 11);
const mask = BigInt64Array.from([0n, 1n, 0n, 2n, 0n, 0n]);

/** A failed run: exit code 1, nothing on stdout, exactly one stderr line with the code, no stack trace. */
function expectFailure(r: CliResult, code: string, pattern?: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => !l.startsWith('[') && l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^inferrt \\w+: error ${code}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /);
  if (pattern) expect(lines[0]).toMatch(pattern);
}

async function oracle(): Promise<Record<string, ort.Tensor>> {
  return ortRun(tinyModel(), { x: new ort.Tensor('float32', x, [2, 4]), mask: new ort.Tensor('int64', mask, [2, 3]) });
}

beforeAll(async () => {
  await writeFile(at('tiny.onnx'), tinyModel());
  await writeNpyFile(at('x.npy'), { dtype: 'float32', shape: [2, 4], data: x });
  await writeNpyFile(at('mask.npy'), { dtype: 'int64', shape: [2, 3], data: mask });
});

describe('inferrt build', () => {
  it('builds a plan, with plain progress lines off a terminal', async () => {
    const r = await cli(['build', at('tiny.onnx'), '-o', at('tiny.plan'), '--shapes', SHAPES]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built .*tiny\.onnx -> .*tiny\.plan \(\d+(\.\d+)? [KM]?i?B\) in [\d.]+ m?s: parse .*, build /);
    expect(r.stdout).toMatch(/model: 6 nodes, opset 17, from inferrt-cli-test/);
    expect(r.stdout).toMatch(/backend cpu, precision fp32 \+ tf32/);
    expect(r.stderr).toMatch(/^\[parse\] tiny\.onnx\n/);
    expect(r.stderr).not.toContain('\r');
    expect((await stat(at('tiny.plan'))).size).toBeGreaterThan(0);
  });

  it('draws a live progress line on a terminal', async () => {
    const r = await cli(['build', at('tiny.onnx'), '-o', at('tty.plan'), '--shapes', SHAPES], true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\r\x1b\[2Kparse +\d+%/);
    expect(r.stderr.endsWith('\r\x1b[2K')).toBe(true);
  });

  it("takes trtexec's shape flags for the same profile", async () => {
    const r = await cli(['build', at('tiny.onnx'), '-o', at('trt.plan'), '-q', '--minShapes=x:1x4,mask:1x3', '--optShapes=x:2x4,mask:2x3', '--maxShapes', 'x:8x4,mask:8x3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const a = JSON.parse((await cli(['inspect', '--json', at('tiny.plan')])).stdout) as InspectReport;
    const b = JSON.parse((await cli(['inspect', '--json', at('trt.plan')])).stdout) as InspectReport;
    expect(b.inputs).toEqual(a.inputs);
    expect(b.layers).toEqual(a.layers);
  });

  it('says which dynamic inputs need a range', async () => {
    expectFailure(await cli(['build', at('tiny.onnx'), '-o', at('x.plan')]), 'INVALID_ARGUMENT', /dynamic inputs without a shape range: 'x' \[-1, 4\], 'mask' \[-1, 3\]; give one with --shapes/);
    expectFailure(await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', `${SHAPES};mask2:1x3`]), 'INVALID_ARGUMENT', /'mask2', which is not an input of the model \(did you mean 'mask'\?\)/);
    expectFailure(await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', 'x:min=1x5,max=2x5;mask:1x3']), 'SHAPE_MISMATCH');
    expectFailure(await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', SHAPES, '--backend', 'cdua']), 'INVALID_ARGUMENT', /did you mean 'cuda'/);
  });

  it('reads and writes a --timing-cache file, naming it when it is malformed', async () => {
    const cache = at('gemm.cache');
    const r = await cli(['build', at('tiny.onnx'), '-o', at('cached.plan'), '--shapes', SHAPES, '--timing-cache', cache, '--verbose']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(cache, 'utf8')).toBe('inferrt-timing-cache 1\n'); // a CPU build times no GEMM
    expect(r.stdout).toContain(`timing cache: 0 entries written to '${cache}'`);
    await writeFile(cache, 'inferrt-timing-cache 1\nnot an entry\n');
    expectFailure(
      await cli(['build', at('tiny.onnx'), '-o', at('cached.plan'), '--shapes', SHAPES, '--timing-cache', cache]),
      'INVALID_ARGUMENT',
      /timing cache '.*gemm\.cache' line 2: expected 6 tab-separated fields/,
    );
    expectFailure(await cli(['inspect', at('tiny.plan'), '--timing-cache', cache]), 'INVALID_ARGUMENT', /--timing-cache applies only when building from an \.onnx model/);
  });

  it('reports malformed and missing models', async () => {
    await writeFile(at('junk.onnx'), new Uint8Array([0xff, 0xff, 0xff, 0x07, 1, 2, 3]));
    expectFailure(await cli(['build', at('junk.onnx'), '-o', at('x.plan')]), 'INVALID_MODEL');
    expectFailure(await cli(['build', at('absent.onnx'), '-o', at('x.plan')]), 'INVALID_ARGUMENT', /absent\.onnx/);
  });
});

describe('inferrt inspect', () => {
  it('prints header, precision, I/O with profile ranges, layers and memory', async () => {
    const r = await cli(['inspect', at('tiny.plan')]);
    expect(r.code, r.stderr).toBe(0);
    const size = (await stat(at('tiny.plan'))).size;
    expect(r.stdout).toMatch(/tiny\.plan: inferrt plan format \d+, built by inferrt \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/backend: cpu \(no GPU architecture\)/);
    expect(r.stdout).toMatch(/precision: .*fp32/);
    expect(r.stdout).toContain(`(${size} bytes)`);
    expect(r.stdout).toMatch(/inputs \(2\):\n {2}x +float32 +\[-1, 4\] +min \[1, 4\] opt \[2, 4\] max \[8, 4\]\n {2}mask +int64 +\[-1, 3\] +min \[1, 3\] opt \[2, 3\] max \[8, 3\]/);
    expect(r.stdout).toMatch(/outputs \(2\):\n {2}hidden\/relu:0 +float32 +\[-1, 3\]\n {2}probs +float32 +\[-1, 3\]/);
    expect(r.stdout).toMatch(/layers \(\d+: \d+ fp32\):\n {2} *# +name +kind +precision +inputs -> outputs\n {2} *0 +relu +MatMul +fp32 +x, W, b -> /);  // MatMul + bias + ReLU fused
    expect(r.stdout).toMatch(/-> probs$/m);
  });

  it('prints the same facts as JSON', async () => {
    const r = await cli(['inspect', at('tiny.plan'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as InspectReport;
    expect(j.header.backend).toBe('cpu');
    expect(j.header.gpuArch).toBe('');
    expect(j.memory.planBytes).toBe((await stat(at('tiny.plan'))).size);
    expect(j.memory.weightBytes).toBeGreaterThanOrEqual((4 * 3 + 3) * 4);
    expect(j.numProfiles).toBe(1);
    expect(j.inputs).toEqual([
      { name: 'x', dtype: 'float32', dims: [-1, 4], profiles: [{ min: [1, 4], opt: [2, 4], max: [8, 4] }] },
      { name: 'mask', dtype: 'int64', dims: [-1, 3], profiles: [{ min: [1, 3], opt: [2, 3], max: [8, 3] }] },
    ]);
    expect(j.outputs.map((o) => o.name)).toEqual(['hidden/relu:0', 'probs']);
    expect(j.layers.length).toBeGreaterThan(0);
    for (const l of j.layers) expect(l).toEqual({ name: expect.any(String), kind: expect.any(String), precision: 'fp32', inputs: expect.any(Array), outputs: expect.any(Array), runsOn: 'cpu' });
    expect(j.layers.flatMap((l) => l.outputs)).toContain('probs');
  });

  it('rejects corrupted, truncated and foreign plans with BAD_PLAN', async () => {
    const bytes = new Uint8Array(await readFile(at('tiny.plan')));
    const flipped = bytes.slice();
    flipped[Math.floor(flipped.length / 2)]! ^= 0x5a;
    await writeFile(at('flipped.plan'), flipped);
    await writeFile(at('truncated.plan'), bytes.subarray(0, Math.floor(bytes.length / 3)));
    await writeFile(at('foreign.plan'), tinyModel());
    for (const f of ['flipped.plan', 'truncated.plan', 'foreign.plan']) {
      expectFailure(await cli(['inspect', at(f)]), 'BAD_PLAN');
      expectFailure(await cli(['run', at(f), '--input', `x=${at('x.npy')}`, '--input', `mask=${at('mask.npy')}`]), 'BAD_PLAN');
    }
    expectFailure(await cli(['inspect', at('absent.plan')]), 'INVALID_ARGUMENT', /cannot read plan file '.*absent\.plan': ENOENT/);
  });
});

describe('inferrt run', () => {
  it("runs a plan and saves outputs that match onnxruntime's", async () => {
    const out = at('out');
    const r = await cli(['run', at('tiny.plan'), '--input', `x=${at('x.npy')}`, '-i', `mask=${at('mask.npy')}`, '--save-outputs', out, '--iterations', '3', '--warmup', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^loaded .*tiny\.plan in [\d.]+ m?s \(backend cpu\)\n/);
    expect(r.stdout).toMatch(/^hidden\/relu:0: float32 \[2, 3\]\n {2}values: \[.*\]\n {2}stats: min .*, max .*, mean .*$/m);
    expect(r.stdout).toMatch(/^probs: float32 \[2, 3\]$/m);
    expect(r.stdout).toMatch(/^timing: 3 iterations, mean [\d.]+ m?s, min [\d.]+ m?s, median .*, max .*$/m);
    expect(r.stdout).toContain(`${path.join(out, 'hidden_relu_0.npy')}  (output 'hidden/relu:0'; name made safe for the file system)`);
    expect(r.stdout).toContain(path.join(out, 'probs.npy'));

    const expected = await oracle();
    const hidden = await readNpyFile(path.join(out, 'hidden_relu_0.npy'));
    const probs = await readNpyFile(path.join(out, 'probs.npy'));
    expect(hidden.dtype).toBe('float32');
    expect(hidden.shape).toEqual([2, 3]);
    expect(probs.shape).toEqual([2, 3]);
    expect(maxRelError(hidden.data as Float32Array, expected['hidden/relu:0']!.data as Float32Array)).toBeLessThan(1e-5);
    expect(maxRelError(probs.data as Float32Array, expected.probs!.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('builds an .onnx model in memory, fixing dynamic dims to the .npy shapes', async () => {
    const out = at('out-onnx');
    const r = await cli(['run', at('tiny.onnx'), '--input', `x=${at('x.npy')}`, '--input', `mask=${at('mask.npy')}`, '--save-outputs', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built .*tiny\.onnx in memory in .* \(backend cpu, precision fp32 \+ tf32\)/);
    expect(r.stdout).toMatch(/^timing: 1 iteration, [\d.]+ m?s$/m);
    const expected = await oracle();
    const probs = await readNpyFile(path.join(out, 'probs.npy'));
    expect(maxRelError(probs.data as Float32Array, expected.probs!.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('honors --fp16 within fp16 accuracy', async () => {
    const out = at('out-fp16');
    const r = await cli(['run', at('tiny.onnx'), '--fp16', '--input', `x=${at('x.npy')}`, '--input', `mask=${at('mask.npy')}`, '--save-outputs', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const expected = await oracle();
    const probs = await readNpyFile(path.join(out, 'probs.npy'));
    expect(maxRelError(probs.data as Float32Array, expected.probs!.data as Float32Array)).toBeLessThan(5e-3);
  });

  it('takes a bare --input FILE.npy when the model has one input', async () => {
    await writeFile(at('neg.onnx'), negModel());
    const r = await cli(['run', at('neg.onnx'), '--input', at('x.npy')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`y: float32 [2, 4]\n  values: [${Array.from(x, (v) => formatNumber(-v)).join(', ')}]`);
  });

  it('names the input, expected and actual dtype when a .npy has the wrong dtype', async () => {
    await writeNpyFile(at('mask32.npy'), { dtype: 'int32', shape: [2, 3], data: Int32Array.from([0, 1, 0, 2, 0, 0]) });
    await writeNpyFile(at('x64.npy'), { dtype: 'float64', shape: [2, 4], data: Float64Array.from(x) });
    expectFailure(
      await cli(['run', at('tiny.plan'), '--input', `x=${at('x.npy')}`, '--input', `mask=${at('mask32.npy')}`]),
      'DTYPE_MISMATCH',
      /input 'mask' expects int64 but '.*mask32\.npy' holds int32; convert it \(numpy: np\.save\(path, arr\.astype\(np\.int64\)\)\)/,
    );
    expectFailure(await cli(['run', at('tiny.onnx'), '--input', `x=${at('x64.npy')}`, '--input', `mask=${at('mask.npy')}`]), 'DTYPE_MISMATCH', /input 'x' expects float32 but .* holds float64/);
  });

  it('reports missing, unknown and badly shaped inputs', async () => {
    const plan = at('tiny.plan');
    expectFailure(await cli(['run', plan, '--input', `x=${at('x.npy')}`]), 'INVALID_ARGUMENT', /missing input mask \(int64 \[-1, 3\]\); give --input mask=FILE\.npy/);
    expectFailure(await cli(['run', plan, '--input', `x=${at('x.npy')}`, '--input', `msk=${at('mask.npy')}`]), 'INVALID_ARGUMENT', /the model has no input 'msk' \(did you mean 'mask'\?\)/);
    expectFailure(await cli(['run', plan, '--input', at('x.npy')]), 'INVALID_ARGUMENT', /name the input \(--input NAME=FILE\.npy\); the model has 2 inputs/);
    expectFailure(await cli(['run', plan, '--input', `x=${at('mask.npy')}`, '--input', `mask=${at('mask.npy')}`]), 'DTYPE_MISMATCH');
    await writeNpyFile(at('x5.npy'), { dtype: 'float32', shape: [2, 5], data: new Float32Array(10) });
    expectFailure(await cli(['run', plan, '--input', `x=${at('x5.npy')}`, '--input', `mask=${at('mask.npy')}`]), 'SHAPE_MISMATCH', /input 'x' has dims \[-1, 4\] \(-1 = any\) but '.*x5\.npy' holds shape \[2, 5\]/);
    await writeNpyFile(at('x9.npy'), { dtype: 'float32', shape: [9, 4], data: new Float32Array(36) });
    await writeNpyFile(at('mask9.npy'), { dtype: 'int64', shape: [9, 3], data: new BigInt64Array(27) });
    expectFailure(await cli(['run', plan, '--input', `x=${at('x9.npy')}`, '--input', `mask=${at('mask9.npy')}`]), 'SHAPE_MISMATCH', /profile/);
    await writeFile(at('bad.npy'), 'not numpy');
    expectFailure(await cli(['run', plan, '--input', `x=${at('bad.npy')}`]), 'INVALID_ARGUMENT', /--input x=.*bad\.npy: .*not a \.npy file/);
  });

  it('rejects build flags with a plan', async () => {
    expectFailure(
      await cli(['run', at('tiny.plan'), '--fp16', '--shapes', 'x:2x4', '--input', `x=${at('x.npy')}`]),
      'INVALID_ARGUMENT',
      /--fp16, --shapes apply only when building from an \.onnx model/,
    );
  });
});

const demo = demoCnnPath();
describe.skipIf(!demo)('the exported demo CNN', () => {
  it('build → inspect → run matches onnxruntime', async () => {
    const [input] = onnxInputs(await readFile(demo!));
    const { name, dims } = input!;
    const pick = (dyn: number) => dims.map((d) => (d < 0 ? dyn : d)).join('x');
    const shape = dims.map((d) => (d < 0 ? 2 : d));
    const plan = at('demo.plan');
    const b = await cli(['build', demo!, '-o', plan, '--shapes', `${name}:min=${pick(1)},opt=${pick(2)},max=${pick(4)}`]);
    expect(b.code, b.stderr).toBe(0);
    const i = await cli(['inspect', plan, '--json']);
    expect(i.code, i.stderr).toBe(0);
    const report = JSON.parse(i.stdout) as InspectReport;
    expect(report.inputs[0]!.dims).toEqual(dims);
    const data = randomFloats(shape.reduce((a, c) => a * c, 1), 5);
    await writeNpyFile(at('demo_in.npy'), { dtype: 'float32', shape, data });
    const out = at('demo_out');
    const r = await cli(['run', plan, '--input', `${name}=${at('demo_in.npy')}`, '--save-outputs', out]);
    expect(r.code, r.stderr).toBe(0);
    const expected = await ortRun(demo!, { [name]: new ort.Tensor('float32', data, shape) });
    for (const o of report.outputs) {
      const file = path.join(out, `${safeFileName(o.name)}.npy`);
      expect(existsSync(file), file).toBe(true);
      const got = await readNpyFile(file);
      expect(got.shape).toEqual([...expected[o.name]!.dims]);
      expect(maxRelError(got.data as Float32Array, expected[o.name]!.data as Float32Array)).toBeLessThan(1e-4);
    }
  });
});

const transformers = ['bert_dynamo_op18.onnx', 'gpt2_torchscript_op17.onnx'].map((f) => path.join(path.dirname(demo ?? '.'), f));
describe.each(transformers.filter((f) => existsSync(f)))('the exported transformer %s', (model) => {
  it('runs int64 inputs with dynamic batch and sequence, matching onnxruntime', async () => {
    const [batch, seq] = [2, 7];
    const names = onnxInputs(await readFile(model)).map((i) => i.name);
    const feeds: Record<string, BigInt64Array> = {};
    for (const name of names) {
      feeds[name] = BigInt64Array.from({ length: batch * seq }, (_, i) => (name === 'input_ids' ? BigInt((i * 13) % 50) : name === 'attention_mask' ? (i % seq < seq - 1 ? 1n : 0n) : 0n));
      await writeNpyFile(at(`${name}.npy`), { dtype: 'int64', shape: [batch, seq], data: feeds[name] });
    }
    const spec = (dims: string) => names.map((n) => `${n}:${dims}`).join(',');
    const plan = at(`${path.basename(model)}.plan`);
    const b = await cli(['build', model, '-o', plan, '-q', `--minShapes=${spec('1x1')}`, `--optShapes=${spec('2x8')}`, `--maxShapes=${spec('4x16')}`]);
    expect(b.code, b.stderr).toBe(0);
    const out = at(`${path.basename(model)}-out`);
    const r = await cli(['run', plan, ...names.flatMap((n) => ['--input', `${n}=${at(`${n}.npy`)}`]), '--save-outputs', out]);
    expect(r.code, r.stderr).toBe(0);
    const ortFeeds = Object.fromEntries(names.map((n) => [n, new ort.Tensor('int64', feeds[n]!, [batch, seq])]));
    const expected = await ortRun(model, ortFeeds);
    for (const [name, t] of Object.entries(expected)) {
      const got = await readNpyFile(path.join(out, `${safeFileName(name)}.npy`));
      expect(got.shape).toEqual([...t.dims]);
      expect(maxRelError(got.data as Float32Array, t.data as Float32Array), name).toBeLessThan(1e-4);
    }
  });
});

/**
 * `inferrt build --int8 --calib FILE` (trtexec's spelling): a TensorRT-format calibration cache gives the tiny
 * model's MatMul an INT8 scale, `inspect` shows the layer's precision, and the flag's misuse fails with one line.
 */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../../lib/cli/commands/inspect.js';
import { cli, tinyModel, useTempDir } from './helpers.js';

const at = useTempDir();
const SHAPES = 'x:min=1x4,opt=2x4,max=8x4;mask:min=1x3,opt=2x3,max=8x3';

beforeAll(async () => {
  await writeFile(at('tiny.onnx'), tinyModel());
  await writeFile(at('trt.cache'), 'TRT-8601-EntropyCalibration2\nx: 3c23d70a\n');
  await writeFile(at('bad.cache'), 'TRT-8601-EntropyCalibration2\nx 3c23d70a\n');
});

describe('inferrt build --int8 --calib', () => {
  it('builds the MatMul in int8 from a TensorRT cache, as inspect shows', async () => {
    const built = await cli(['build', at('tiny.onnx'), '-o', at('int8.plan'), '--shapes', SHAPES, '--int8', '--calib', at('trt.cache'), '--backend', 'cpu']);
    expect(built.code, built.stderr).toBe(0);
    const report = JSON.parse((await cli(['inspect', '--json', at('int8.plan')])).stdout) as InspectReport;
    expect(report.layers.filter((l) => l.precision === 'int8').map((l) => l.kind)).toEqual(['QuantizedMatMul']);
    expect(report.precision).toContain('int8');
  });

  it('fails with one line on --calib without --int8, a missing cache, and a malformed one', async () => {
    const noInt8 = await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', SHAPES, '--calib', at('trt.cache')]);
    expect(noInt8.code).toBe(1);
    expect(noInt8.stderr).toMatch(/option '--calib' needs '--int8'/);
    const missing = await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', SHAPES, '--int8', '--calib', at('none.cache')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('none.cache');
    const bad = await cli(['build', at('tiny.onnx'), '-o', at('x.plan'), '--shapes', SHAPES, '--int8', '--calib', at('bad.cache')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/line 2/);
  });
});

/** The CLI's argument handling, shape flags, file-name sanitizing and top-level dispatch (no addon needed). */
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../lib/cli/args.js';
import { formatError } from '../../lib/cli/cli.js';
import { precisionOf } from '../../lib/cli/model.js';
import { safeFileName } from '../../lib/cli/outputs.js';
import { ProgressLine } from '../../lib/cli/progress.js';
import { parseShapeFlags, type ShapeFlags } from '../../lib/cli/shapes.js';
import { InferrtError } from '../../lib/errors.js';
import { captureIO, cli } from './helpers.js';

const specs = {
  output: { type: 'string', short: 'o', valueName: 'FILE', description: 'out' },
  fp16: { type: 'boolean', description: 'fp16' },
  input: { type: 'string', multiple: true, description: 'in' },
  iterations: { type: 'integer', min: 1, description: 'n' },
} as const;
const pos = [{ name: 'MODEL', description: 'model' }];

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as InferrtError).code).toBe('INVALID_ARGUMENT');
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads every spelling of flags and values', () => {
    const a = parseArgs(['m.onnx', '-o', 'a.plan', '--fp16', '--input=x=a.npy', '--input', 'y=b.npy', '--iterations=3'], specs, pos);
    expect(a.positionals).toEqual(['m.onnx']);
    expect(a.options).toEqual({ output: 'a.plan', fp16: true, input: ['x=a.npy', 'y=b.npy'], iterations: 3 });
    const b = parseArgs(['-o=b.plan', '--', '--weird.onnx'], specs, pos);
    expect(b.options).toEqual({ output: 'b.plan', fp16: false, input: [], iterations: undefined });
    expect(b.positionals).toEqual(['--weird.onnx']);
  });

  it('rejects unknown options with the closest known one', () => {
    expect(usageMessage(() => parseArgs(['m', '--fp61'], specs, pos))).toBe("unknown option '--fp61' (did you mean '--fp16'?)");
    expect(usageMessage(() => parseArgs(['m', '--ouput=x'], specs, pos))).toBe("unknown option '--ouput' (did you mean '--output'?)");
    expect(usageMessage(() => parseArgs(['m', '--zzzzzzzz'], specs, pos))).toBe("unknown option '--zzzzzzzz'");
    expect(usageMessage(() => parseArgs(['m', '-x'], specs, pos))).toBe("unknown option '-x'");
  });

  it('rejects bad values, repeats and positional counts', () => {
    expect(usageMessage(() => parseArgs(['m', '--output'], specs, pos))).toBe("option '--output' needs a value (--output FILE)");
    expect(usageMessage(() => parseArgs(['m', '--output', '--fp16'], specs, pos))).toBe("option '--output' needs a value (--output FILE)");
    expect(usageMessage(() => parseArgs(['m', '--fp16=yes'], specs, pos))).toBe("option '--fp16' takes no value, got '--fp16=yes'");
    expect(usageMessage(() => parseArgs(['m', '--fp16', '--fp16'], specs, pos))).toBe("option '--fp16' is given more than once");
    expect(usageMessage(() => parseArgs(['m', '-o', 'a', '-o', 'b'], specs, pos))).toBe("option '--output' is given more than once");
    expect(usageMessage(() => parseArgs(['m', '--iterations', '0'], specs, pos))).toBe("option '--iterations' must be an integer >= 1, got '0'");
    expect(usageMessage(() => parseArgs(['m', '--iterations', '2.5'], specs, pos))).toBe("option '--iterations' must be an integer >= 1, got '2.5'");
    expect(usageMessage(() => parseArgs([], specs, pos))).toBe('missing MODEL');
    expect(usageMessage(() => parseArgs(['a', 'b'], specs, pos))).toBe("unexpected argument 'b'");
  });
});

describe('shape flags', () => {
  const flags = (f: Partial<ShapeFlags>): ShapeFlags => ({ shapes: [], minShapes: [], optShapes: [], maxShapes: [], ...f });

  it('reads --shapes ranges and fixed shapes', () => {
    expect(parseShapeFlags(flags({ shapes: ['ids:min=1x1,opt=8x128,max=64x512; x:1x3x224x224'] }))).toEqual({
      ids: { min: [1, 1], opt: [8, 128], max: [64, 512] },
      x: { min: [1, 3, 224, 224], opt: [1, 3, 224, 224], max: [1, 3, 224, 224] },
    });
  });

  it("reads trtexec's --minShapes/--optShapes/--maxShapes the same way", () => {
    const trt = parseShapeFlags(flags({ minShapes: ['ids:1x1,mask:1x1'], optShapes: ['ids:8x128,mask:8x128'], maxShapes: ['ids:64x512,mask:64x512'] }));
    const ours = parseShapeFlags(flags({ shapes: ['ids:min=1x1,opt=8x128,max=64x512;mask:min=1x1,opt=8x128,max=64x512'] }));
    expect(trt).toEqual(ours);
  });

  it('fills a partial range and takes quoted names', () => {
    expect(parseShapeFlags(flags({ shapes: ['a:min=1x2,max=4x2'] }))).toEqual({ a: { min: [1, 2], opt: [4, 2], max: [4, 2] } });
    expect(parseShapeFlags(flags({ optShapes: ["'in:0':2x3"] }))).toEqual({ 'in:0': { min: [2, 3], opt: [2, 3], max: [2, 3] } });
    expect(parseShapeFlags(flags({ shapes: ['in:0:2x3'] }))).toEqual({ 'in:0': { min: [2, 3], opt: [2, 3], max: [2, 3] } });
  });

  it('says what is wrong with malformed shapes', () => {
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['ids:min=1x,max=2x2'] })))).toMatch(/bad dims '1x' in 'ids:min=1x,max=2x2'/);
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['ids:mn=1x1'] })))).toMatch(/cannot read 'mn=1x1'/);
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['1x2'] })))).toMatch(/'1x2' has no input name/);
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['a:min=4x1,max=2x1'] })))).toMatch(/dim 0 must satisfy min <= opt <= max/);
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['a:min=1x1,max=2x1x1'] })))).toMatch(/disagree in rank/);
    expect(usageMessage(() => parseShapeFlags(flags({ shapes: ['a:1x1'], minShapes: ['a:1x1'] })))).toBe("--minShapes: the min shape of input 'a' is given more than once");
  });
});

describe('helpers', () => {
  it('maps precision flags like TensorRT: TF32 on unless --strict-fp32', () => {
    const f = { fp16: false, int8: false, 'strict-fp32': false, workspace: undefined, backend: undefined, 'timing-cache': undefined, 'sparse-weights': false, 'approximate-gelu': false, calib: undefined, 'packed-sequences': undefined, shapes: [], minShapes: [], optShapes: [], maxShapes: [] };
    expect(precisionOf(f)).toEqual(['tf32']);
    expect(precisionOf({ ...f, fp16: true })).toEqual(['tf32', 'fp16']);
    expect(precisionOf({ ...f, fp16: true, 'strict-fp32': true })).toEqual(['fp16']);
  });

  it('makes tensor names safe file names', () => {
    expect(safeFileName('logits')).toBe('logits');
    expect(safeFileName('hidden/relu:0')).toBe('hidden_relu_0');
    expect(safeFileName('../../etc/passwd')).toBe('_.._.._etc_passwd');
    expect(safeFileName('..')).toBe('__');
    expect(safeFileName('')).toBe('_');
    expect(safeFileName('.hidden')).toBe('_.hidden');
    expect(safeFileName('NUL')).toBe('NUL_');
    expect(safeFileName('x'.repeat(300))).toHaveLength(200);
  });

  it('formats every failure as one line with its code', () => {
    expect(formatError(new InferrtError('BAD_PLAN', 'bad\nplan'), 'inferrt run')).toBe('inferrt run: error BAD_PLAN: bad; plan');
    expect(formatError(new UsageError("unknown option '--x'"), 'inferrt run')).toBe("inferrt run: error INVALID_ARGUMENT: unknown option '--x' (see 'inferrt run --help')");
    expect(formatError(new TypeError('boom'), 'inferrt')).toMatch(/^inferrt: error INTERNAL: boom/);
  });

  it('draws one live progress line on a terminal and plain lines elsewhere', () => {
    const tty = captureIO(true);
    const live = new ProgressLine(tty.io.stderr);
    live.update('parse', 0.5, 'node 1/2');
    live.update('fold', 1, 'folded');
    live.done();
    expect(tty.stderr()).toContain('\r\x1b[2Kparse');
    expect(tty.stderr()).toContain(' 50%');
    expect(tty.stderr()).not.toContain('\n');
    const plain = captureIO(false);
    const lines = new ProgressLine(plain.io.stderr);
    lines.update('parse', 0, 'm.onnx');
    lines.update('parse', 0.5, 'node 1/2');
    lines.update('fold', 0.2, '');
    lines.done();
    expect(plain.stderr()).toBe('[parse] m.onnx\n[fold]\n');
  });
});

describe('dispatch', () => {
  it('prints help and version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:\n {2}build/);
    for (const c of ['build', 'run', 'inspect']) {
      const r = await cli([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: inferrt ${c} `));
      expect((await cli(['help', c])).stdout).toBe(r.stdout);
    }
    expect((await cli(['--version'])).stdout).toMatch(/^inferrt \d+\.\d+\.\d+/);
    const none = await cli([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Usage: inferrt/);
  });

  it('rejects unknown commands and flags with a one-line error and exit code 1', async () => {
    const r = await cli(['biuld', 'm.onnx']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: "inferrt: error INVALID_ARGUMENT: unknown command 'biuld' (did you mean 'build'?); commands: build, run, inspect, bench, prune (see 'inferrt --help')\n" });
    const f = await cli(['build', 'm.onnx', '-o', 'm.plan', '--fp61']);
    expect(f).toEqual({ code: 1, stdout: '', stderr: "inferrt build: error INVALID_ARGUMENT: unknown option '--fp61' (did you mean '--fp16'?) (see 'inferrt build --help')\n" });
    const o = await cli(['build', 'm.onnx']);
    expect(o.stderr).toMatch(/missing -o\/--output/);
    const x = await cli(['build', 'm.plan', '-o', 'x.plan']);
    expect(x.stderr).toMatch(/'m\.plan' is not an \.onnx file/);
  });

  it('reports a missing input file before loading anything', async () => {
    const r = await cli(['run', 'missing.plan', '--input', 'x=/nonexistent/x.npy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("inferrt run: error INVALID_ARGUMENT: --input x=/nonexistent/x.npy: cannot read '/nonexistent/x.npy': no such file (ENOENT)\n");
  });
});

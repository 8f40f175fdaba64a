/**
 * Calibration cache text (TensorRT's format and inferrt's): parsing caches written by hand from known float32
 * values, round trips, every malformed-input error with its line, and atomic file writes.
 * The expected hex of a scale is computed here with Buffer.writeFloatBE (the float32 bit pattern, most significant
 * byte first), independently of the module's own conversion.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALIBRATION_CACHE_FORMAT_VERSION, amaxOf, formatCalibrationCache, parseCalibrationCache, readCalibrationCacheFile,
  scaleOfAmax, tryReadCalibrationCacheFile, writeCalibrationCacheFile,
} from '../../lib/int8/index.js';
import { rejection, thrown } from '../inferrt-errors.js';
import { seededUniform } from '../seeded-uniform.js';

/** The float32 bit pattern of `x` as 8 lowercase hex digits, as TensorRT prints it. */
function bitsHex(x: number): string {
  const b = Buffer.alloc(4);
  b.writeFloatBE(x);
  return b.toString('hex');
}

const seeded = seededUniform;

/** Names as ONNX exporters and TensorRT write them: slashes, colons, spaces, brackets, and ': ' inside. */
const AWKWARD_NAMES = [
  'input:0', '/model/encoder/layer.0/Add_output_0', '(Unnamed Layer* 4) [Constant]_output', 'name: with separator',
  'ends with colon:', 'trailing space ', 'ünïcödé/張量', 'x',
];

describe('parseCalibrationCache: TensorRT caches', () => {
  it('reads a cache written by hand from known float32 scales', () => {
    const amaxes = [1, 2.5, 6.0, 0.125, 300.75, 1e-3, 17.2, 4];
    const scales = amaxes.map((a) => Math.fround(a / 127));
    const text = ['TRT-8502-EntropyCalibration2', ...AWKWARD_NAMES.map((n, i) => `${n}: ${bitsHex(scales[i]!)}`)].join('\n') + '\n';
    const cache = parseCalibrationCache(text, 'model.cache');
    expect(cache.format).toBe('tensorrt');
    expect(cache.version).toBe('8502');
    expect(cache.algorithm).toBe('EntropyCalibration2');
    expect([...cache.scales.keys()]).toEqual(AWKWARD_NAMES);
    AWKWARD_NAMES.forEach((n, i) => {
      expect(cache.scales.get(n)).toBe(scales[i]);
      expect(Math.abs(amaxOf(cache.scales.get(n)!) / amaxes[i]! - 1)).toBeLessThan(2 ** -23); // float32 rounding
    });
  });

  it('decodes the IEEE-754 bit patterns TensorRT prints', () => {
    const cache = parseCalibrationCache('TRT-7000-EntropyCalibration2\none: 3f800000\ntwo: 40000000\nunit: 3c010204\nzero: 00000000\n');
    expect(cache.scales.get('one')).toBe(1);
    expect(cache.scales.get('two')).toBe(2);
    expect(cache.scales.get('unit')).toBe(Math.fround(1 / 127)); // amax 1
    expect(cache.scales.get('zero')).toBe(0);
    expect(scaleOfAmax(1)).toBe(cache.scales.get('unit'));
  });

  it.each([
    ['TRT-7103-EntropyCalibration2', 'tensorrt', '7103', 'EntropyCalibration2'],
    ['TRT-100300-MinMaxCalibration', 'tensorrt', '100300', 'MinMaxCalibration'],
    ['TRT-8600-EntropyCalibration', 'tensorrt', '8600', 'EntropyCalibration'],
    ['TRT-7000-LegacyCalibration', 'tensorrt', '7000', 'LegacyCalibration'],
    [`inferrt-${CALIBRATION_CACHE_FORMAT_VERSION}-Percentile`, 'inferrt', String(CALIBRATION_CACHE_FORMAT_VERSION), 'Percentile'],
  ])('header %s', (header, format, version, algorithm) => {
    const cache = parseCalibrationCache(`${header}\nx: ${bitsHex(0.5)}\n`);
    expect({ format: cache.format, version: cache.version, algorithm: cache.algorithm }).toEqual({ format, version, algorithm });
    expect(cache.scales.get('x')).toBe(0.5);
  });

  it('accepts CRLF, a missing final newline, trailing blank lines, a BOM, uppercase hex and -0', () => {
    const expected = new Map([['a', 0.25], ['b', 3]]);
    const body = [`a: ${bitsHex(0.25)}`, `b: ${bitsHex(3).toUpperCase()}`];
    for (const text of [
      ['TRT-8502-MinMaxCalibration', ...body].join('\r\n') + '\r\n',
      ['TRT-8502-MinMaxCalibration', ...body].join('\n'),
      ['TRT-8502-MinMaxCalibration', ...body].join('\n') + '\n\n  \r\n\t\n',
      '\uFEFF' + ['TRT-8502-MinMaxCalibration', ...body].join('\n'),
    ]) {
      expect(parseCalibrationCache(text).scales).toEqual(expected);
    }
    const negZero = parseCalibrationCache('TRT-8502-MinMaxCalibration\nz: 80000000').scales.get('z');
    expect(Object.is(negZero, 0)).toBe(true);
  });

  it('reads a header-only cache as no scales', () => {
    expect(parseCalibrationCache('TRT-8502-EntropyCalibration2\n').scales.size).toBe(0);
  });
});

describe('formatCalibrationCache', () => {
  it('writes the inferrt header, name: hex lines in insertion order, and a final newline', () => {
    const scales = new Map([['z_first', 0.75], ['a_second', Math.fround(0.1)], ['input:0', 2 ** -20]]);
    const text = formatCalibrationCache({ algorithm: 'EntropyCalibration2', scales });
    expect(text).toBe(
      `inferrt-${CALIBRATION_CACHE_FORMAT_VERSION}-EntropyCalibration2\n` +
      `z_first: ${bitsHex(0.75)}\na_second: ${bitsHex(0.1)}\ninput:0: ${bitsHex(2 ** -20)}\n`);
  });

  it('round-trips exact float32 scales, tiny and huge, with awkward names, through text that parses as inferrt', () => {
    const rand = seeded(7);
    const values = [2 ** -149 /* smallest denormal */, 1.17549435e-38, 1e-30, 3.4028234663852886e38, 0, 1, 65504];
    const scales = new Map<string, number>();
    AWKWARD_NAMES.forEach((n, i) => scales.set(n, Math.fround(values[i] ?? rand() * 10)));
    for (let i = 0; i < 50; i++) scales.set(`/blocks.${i}/MatMul_output_0`, Math.fround(rand() * 10 ** (rand() * 8 - 4)));
    const text = formatCalibrationCache({ algorithm: 'MinMaxCalibration', scales });
    const back = parseCalibrationCache(text);
    expect(back.format).toBe('inferrt');
    expect(back.version).toBe(String(CALIBRATION_CACHE_FORMAT_VERSION));
    expect(back.algorithm).toBe('MinMaxCalibration');
    expect([...back.scales]).toEqual([...scales]);
    expect(formatCalibrationCache(back)).toBe(text);
  });

  it('accepts a record and rounds scales to float32', () => {
    const back = parseCalibrationCache(formatCalibrationCache({ algorithm: 'Percentile', scales: { b: 0.1, a: 1 / 3 } }));
    expect([...back.scales]).toEqual([['b', Math.fround(0.1)], ['a', Math.fround(1 / 3)]]);
  });

  it.each([
    ['an algorithm with a space', { algorithm: 'Entropy Calibration', scales: { x: 1 } }, /algorithm "Entropy Calibration"/],
    ['an algorithm with a dash', { algorithm: 'TRT-8502', scales: { x: 1 } }, /algorithm "TRT-8502"/],
    ['an empty algorithm', { algorithm: '', scales: { x: 1 } }, /algorithm ""/],
    ['an empty name', { algorithm: 'A', scales: { '': 1 } }, /tensor name ""/],
    ['a name with a line break', { algorithm: 'A', scales: { 'a\nb': 1 } }, /tensor name "a\\nb"/],
    ['a NaN scale', { algorithm: 'A', scales: { t: Number.NaN } }, /tensor "t" .* NaN/],
    ['a negative scale', { algorithm: 'A', scales: { t: -1 } }, /tensor "t" .* -1/],
    ['an infinite scale', { algorithm: 'A', scales: { t: Infinity } }, /tensor "t" .* Infinity/],
    ['a scale beyond float32', { algorithm: 'A', scales: { t: 1e39 } }, /tensor "t" .* 1e\+39/],
  ])('refuses %s', (_what, cache, message) => {
    const e = thrown(() => formatCalibrationCache(cache));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(message);
  });
});

describe('parseCalibrationCache: malformed caches name the line', () => {
  const ok = `ok: ${bitsHex(1)}`;
  it.each([
    ['an empty file', '', 'calibration cache "c.cache" is empty'],
    ['a file of blank lines', '\n \r\n\n', 'calibration cache "c.cache" is empty'],
    ['an unknown header', 'TensorRT-8502-EntropyCalibration2\nx: 3f800000', 'line 1: unknown header'],
    ['a scale line as header', 'x: 3f800000', 'line 1: unknown header'],
    ['a header without version', 'TRT-EntropyCalibration2', 'line 1: malformed header'],
    ['a non-numeric version', 'TRT-8.5-EntropyCalibration2', 'line 1: malformed header'],
    ['a header without algorithm', 'inferrt-1-', 'line 1: malformed header'],
    ['a header with trailing text', 'TRT-8502-EntropyCalibration2 extra', 'line 1: malformed header'],
    ['an unsupported inferrt version', 'inferrt-99-EntropyCalibration2', 'line 1: inferrt calibration cache format version 99'],
    ['a line without ": "', `TRT-8502-EntropyCalibration2\n${ok}\nnoseparator 3f800000`, "line 3: expected '<tensor name>: <8 hex digits>'"],
    ['a colon without space', `TRT-8502-EntropyCalibration2\nx:3f800000`, "line 2: expected '<tensor name>: <8 hex digits>'"],
    ['7 hex digits', `TRT-8502-EntropyCalibration2\n${ok}\n${ok.replace('ok', 'b')}\nx: 3f80000`, 'line 4: scale of tensor "x" must be exactly 8 hex digits'],
    ['9 hex digits', 'TRT-8502-EntropyCalibration2\nx: 3f8000000', 'line 2: scale of tensor "x" must be exactly 8 hex digits'],
    ['non-hex digits', 'TRT-8502-EntropyCalibration2\nx: 3g800000', 'line 2: scale of tensor "x" must be exactly 8 hex digits'],
    ['a 0x prefix', 'TRT-8502-EntropyCalibration2\nx: 0x3f8000', 'line 2: scale of tensor "x" must be exactly 8 hex digits'],
    ['trailing space after the digits', 'TRT-8502-EntropyCalibration2\nx: 3f800000 ', 'line 2: scale of tensor "x" must be exactly 8 hex digits'],
    ['a decimal scale', 'TRT-8502-EntropyCalibration2\nx: 0.007874', 'line 2: scale of tensor "x" must be exactly 8 hex digits'],
    ['a NaN scale', `TRT-8502-EntropyCalibration2\n${ok}\nx: 7fc00000`, 'line 3: scale of tensor "x" is NaN'],
    ['an infinite scale', 'TRT-8502-EntropyCalibration2\nx: 7f800000', 'line 2: scale of tensor "x" is Infinity'],
    ['a negative infinite scale', 'TRT-8502-EntropyCalibration2\nx: ff800000', 'line 2: scale of tensor "x" is -Infinity'],
    ['a negative scale', 'TRT-8502-EntropyCalibration2\nx: bf800000', 'line 2: scale of tensor "x" is -1'],
    ['a duplicate name', `TRT-8502-EntropyCalibration2\n${ok}\nother: 3f800000\n${ok}`, 'line 4: duplicate tensor name "ok" (first on line 2)'],
    ['an empty name', `TRT-8502-EntropyCalibration2\n${ok}\n: 3f800000`, 'line 3: empty tensor name'],
    ['a blank name', 'TRT-8502-EntropyCalibration2\n   : 3f800000', 'line 2: empty tensor name'],
    ['a blank line in the middle', `TRT-8502-EntropyCalibration2\n${ok}\n\nx: 3f800000\n`, 'line 3: blank line'],
    ['CRLF lines, error on line 3', `TRT-8502-EntropyCalibration2\r\n${ok}\r\nx: 3f80\r\n`, 'line 3: scale of tensor "x" must be exactly 8 hex digits'],
  ])('%s', (_what, text, message) => {
    const e = thrown(() => parseCalibrationCache(text, 'c.cache'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(message);
    expect(e.message).toContain('"c.cache"');
    const line = /line (\d+)/.exec(message)?.[1];
    expect((e.details as { line: number }).line).toBe(line === undefined ? 1 : Number(line));
  });

  it('names no source when none is given', () => {
    expect(thrown(() => parseCalibrationCache('bad')).message).toMatch(/^calibration cache line 1: unknown header "bad"/);
  });
});

describe('calibration cache files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferrt-calcache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically, reads back, overwrites, and leaves no temporary files', async () => {
    const file = path.join(dir, 'model.cache');
    const first = new Map([['input:0', Math.fround(1 / 127)], ['/conv/Conv_output_0', Math.fround(0.03)]]);
    await writeCalibrationCacheFile(file, { algorithm: 'EntropyCalibration2', scales: first });
    expect(await readdir(dir)).toEqual(['model.cache']);
    expect(await readFile(file, 'utf8')).toBe(formatCalibrationCache({ algorithm: 'EntropyCalibration2', scales: first }));
    const back = await readCalibrationCacheFile(file);
    expect(back.format).toBe('inferrt');
    expect([...back.scales]).toEqual([...first]);

    const second = { y: 2, z: 0.5 };
    await writeCalibrationCacheFile(file, { algorithm: 'MinMaxCalibration', scales: second });
    expect(await readdir(dir)).toEqual(['model.cache']);
    const again = await tryReadCalibrationCacheFile(file);
    expect(again?.algorithm).toBe('MinMaxCalibration');
    expect(Object.fromEntries(again!.scales)).toEqual(second);
  });

  it('reads a TensorRT cache file and names the file in parse errors', async () => {
    const file = path.join(dir, 'trt.cache');
    await writeFile(file, `TRT-8502-EntropyCalibration2\r\ndata: ${bitsHex(Math.fround(2.5 / 127))}\r\n`);
    const cache = await readCalibrationCacheFile(file);
    expect(cache.format).toBe('tensorrt');
    expect(amaxOf(cache.scales.get('data')!)).toBeCloseTo(2.5, 5);

    await writeFile(file, 'TRT-8502-EntropyCalibration2\ndata: 3f800000\ndata: 3f800000\n');
    const e = await rejection(tryReadCalibrationCacheFile(file));
    expect(e.message).toContain(`calibration cache ${JSON.stringify(file)} line 3: duplicate tensor name "data"`);
  });

  it('reports a missing file as an error naming it, or undefined from tryRead', async () => {
    const file = path.join(dir, 'missing.cache');
    const e = await rejection(readCalibrationCacheFile(file));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(`calibration cache file ${JSON.stringify(file)} cannot be read`);
    expect(await tryReadCalibrationCacheFile(file)).toBeUndefined();
  });

  it('leaves nothing behind when the contents are invalid or the directory is missing', async () => {
    const file = path.join(dir, 'model.cache');
    await writeCalibrationCacheFile(file, { algorithm: 'EntropyCalibration2', scales: { keep: 1 } });
    const before = await readFile(file, 'utf8');
    const bad = await rejection(writeCalibrationCacheFile(file, { algorithm: 'EntropyCalibration2', scales: { t: Number.NaN } }));
    expect(bad.message).toMatch(/tensor "t"/);
    expect(await readFile(file, 'utf8')).toBe(before);

    const nowhere = path.join(dir, 'no-such-dir', 'model.cache');
    const e = await rejection(writeCalibrationCacheFile(nowhere, { algorithm: 'EntropyCalibration2', scales: { x: 1 } }));
    expect(e.message).toContain(`calibration cache file ${JSON.stringify(nowhere)} cannot be written`);
    expect(await readdir(dir)).toEqual(['model.cache']);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeNpy,
  NpyFormatError,
  parseNpy,
  readNpyFile,
  writeNpyFile,
  type NpyArray,
  type NpyData,
  type NpyDType,
} from '../lib/npy.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'npy');
// A plain Uint8Array copy (Buffer#slice would alias, and tests mutate copies).
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

const tmp = mkdtempSync(join(tmpdir(), 'inferrt-npy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** IEEE half bits → number, to check float16 data by value. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Builds a .npy file around an arbitrary header text (padded like numpy unless `pad` is false). */
function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(), opts: { major?: number; pad?: boolean } = {}): Uint8Array {
  const major = opts.major ?? 1;
  const prefix = major === 1 ? 10 : 12;
  let text = header;
  if (opts.pad ?? true) {
    const total = prefix + text.length + 1;
    text += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  }
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(prefix + head.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, prefix);
  out.set(data, prefix + head.length);
  return out;
}

function bytesOf(data: NpyData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function expectNpyError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NpyFormatError);
  const err = caught as NpyFormatError;
  expect(err.name).toBe('NpyFormatError');
  for (const f of fragments) expect(err.message).toContain(f);
}

// The formulas of make_npy.py, element by element.
const FIXTURE_VALUES: Record<string, { dtype: NpyDType; values: (number | bigint)[] }> = {
  'f4.npy': { dtype: 'float32', values: range(6).map((i) => i * 0.5 - 1) },
  'f2.npy': { dtype: 'float16', values: range(6).map((i) => i * 0.25 - 0.5) },
  'i1.npy': { dtype: 'int8', values: range(6).map((i) => i * 50 - 128) },
  'u1.npy': { dtype: 'uint8', values: range(6).map((i) => i * 51) },
  'i4.npy': { dtype: 'int32', values: range(6).map((i) => i * 1000003 - 2147483648) },
  'i8.npy': { dtype: 'int64', values: range(6).map((i) => (BigInt(i) - 3n) * 3n ** 35n + 1n) },
  'b1.npy': { dtype: 'bool', values: range(6).map((i) => (i % 3 === 0 ? 1 : 0)) },
  'f8.npy': { dtype: 'float64', values: range(6).map((i) => i / 3) },
};

const CTORS: Record<NpyDType, { name: string }> = {
  float32: Float32Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float64: Float64Array,
};

describe('parseNpy: files written by numpy', () => {
  it.each(Object.entries(FIXTURE_VALUES))('%s', (name, { dtype, values }) => {
    const a = parseNpy(fixture(name), name);
    expect(a.dtype).toBe(dtype);
    expect(a.shape).toEqual([2, 3]);
    expect(a.data.constructor.name).toBe(CTORS[dtype].name);
    const got = dtype === 'float16' ? [...(a.data as Uint16Array)].map(halfToFloat) : [...a.data];
    expect(got).toEqual(values);
  });

  it('reads a scalar (shape ())', () => {
    const a = parseNpy(fixture('scalar.npy'));
    expect(a).toMatchObject({ dtype: 'float32', shape: [] });
    expect([...a.data]).toEqual([42.5]);
  });

  it('reads a zero-size array', () => {
    const a = parseNpy(fixture('empty.npy'));
    expect(a).toMatchObject({ dtype: 'float32', shape: [0, 3] });
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.length).toBe(0);
  });

  it('reads a 3-D array in C order', () => {
    const a = parseNpy(fixture('3d.npy'));
    expect(a).toMatchObject({ dtype: 'int32', shape: [2, 3, 4] });
    expect([...a.data]).toEqual(range(24));
  });

  it.each(['v2.npy', 'v3.npy'])('reads format version %s', (name) => {
    const bytes = fixture(name);
    expect(bytes[6]).toBe(Number(name[1]));
    const a = parseNpy(bytes);
    expect(a).toMatchObject({ dtype: 'float32', shape: [5] });
    expect([...a.data]).toEqual(range(5));
  });

  it('rejects Fortran order with a clear message', () => {
    expectNpyError(() => parseNpy(fixture('fortran.npy'), 'fortran.npy'), 'fortran.npy: ', 'fortran_order=True', 'np.ascontiguousarray');
  });

  it('rejects big-endian data with a clear message', () => {
    expectNpyError(() => parseNpy(fixture('bigendian.npy'), 'bigendian.npy'), 'bigendian.npy: ', "big-endian descr '>i4'");
  });

  it('re-encodes every little-endian v1 fixture byte-for-byte as numpy wrote it', () => {
    for (const name of [...Object.keys(FIXTURE_VALUES), 'scalar.npy', 'empty.npy', '3d.npy']) {
      const bytes = fixture(name);
      expect(Buffer.from(encodeNpy(parseNpy(bytes, name))).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });
});

describe('parseNpy: header dialects', () => {
  const f4x3 = bytesOf(new Float32Array([1, 2, 3]));

  it.each([
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 'numpy style'],
    ["{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", 'keys in another order, no trailing comma'],
    ['{ "descr" : "<f4" ,\n  "fortran_order":False,"shape":( 3 , ) , }', 'double quotes, odd spacing'],
    ["{'descr': '=f4', 'fortran_order': False, 'shape': (3,)}", "'=' byte order"],
    ["{u'descr': u'<f4', u'fortran_order': False, u'shape': (3L,)}", 'Python 2 u-strings and long ints'],
  ])('%s (%s)', (header) => {
    const a = parseNpy(npyWithHeader(header, f4x3));
    expect(a).toMatchObject({ dtype: 'float32', shape: [3] });
    expect([...a.data]).toEqual([1, 2, 3]);
  });

  it.each([
    ['|u1', 'uint8'], ['<u1', 'uint8'], ['=u1', 'uint8'], ['>u1', 'uint8'],
    ['|i1', 'int8'], ['<i1', 'int8'], ['=i1', 'int8'], ['<b1', 'bool'],
  ])('accepts one-byte descr %s', (descr, dtype) => {
    const a = parseNpy(npyWithHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2, 1)}`, new Uint8Array([1, 0])));
    expect(a).toMatchObject({ dtype, shape: [2, 1] });
  });

  it('accepts a header without padding or final newline, and multi-dim tuples with spaces', () => {
    const a = parseNpy(npyWithHeader("{'descr':'<i4','fortran_order':False,'shape':( 1 ,3 )}", bytesOf(new Int32Array([7, 8, 9])), { pad: false }));
    expect(a).toMatchObject({ dtype: 'int32', shape: [1, 3] });
    expect([...a.data]).toEqual([7, 8, 9]);
  });

  it('accepts a hand-built version 2.0 header', () => {
    const a = parseNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", bytesOf(new Float64Array([0.1])), { major: 2 }));
    expect(a).toMatchObject({ dtype: 'float64', shape: [] });
    expect([...a.data]).toEqual([0.1]);
  });

  it.each([
    ["{'descr': '<f4', 'fortran_order': False}", 'missing shape'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", 'unexpected extra'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", 'shape must be a tuple of non-negative integers, got [3]'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", 'shape must be a tuple of non-negative integers, got 3'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", 'got (-3,)'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': ('3',)}", "got ('3',)"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}", 'too many elements'],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", 'fortran_order must be True or False, got 0'],
    ["{'descr': '<u2', 'fortran_order': False, 'shape': (3,)}", "unsupported descr '<u2'"],
    ["{'descr': 'float32', 'fortran_order': False, 'shape': (3,)}", "unsupported descr 'float32'"],
    ["{'descr': '|f4', 'fortran_order': False, 'shape': (3,)}", "unsupported descr '|f4'"],
    ["{'descr': '>f4', 'fortran_order': False, 'shape': (3,)}", "big-endian descr '>f4'"],
    ["{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,)}", "unsupported descr [('x', '<f4')]", 'structured'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "expected ',' or '}'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", 'after the header dict'],
    ["{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", 'cannot parse header'],
    ["{'descr': __import__('os'), 'fortran_order': False, 'shape': (3,)}", 'cannot parse header'],
    ["('<f4', False, (3,))", 'header is not a dict'],
    [`{'descr': ${'('.repeat(1000)}`, 'nested too deeply'],
  ])('rejects %s', (header, ...fragments) => {
    expectNpyError(() => parseNpy(npyWithHeader(header, f4x3), 'h.npy'), 'h.npy: ', ...fragments);
  });
});

describe('parseNpy: malformed files', () => {
  const good = fixture('f4.npy');

  it.each<[Uint8Array, ...string[]]>([
    [new Uint8Array(), 'bad magic', 'got no bytes'],
    [good.subarray(0, 5), 'bad magic'],
    [new TextEncoder().encode('PK\x03\x04 this is a zip, not an npy file'), 'not a .npy file (bad magic', 'got 50 4b 03 04'],
  ])('bad magic %#', (bytes, ...fragments) => {
    expectNpyError(() => parseNpy(bytes, 'x.npy'), 'x.npy: ', ...fragments);
  });

  it.each([[4, 0], [1, 1], [0, 0]])('unsupported version %i.%i', (major, minor) => {
    const bytes = good.slice();
    bytes[6] = major;
    bytes[7] = minor;
    expectNpyError(() => parseNpy(bytes, 'x.npy'), `unsupported .npy format version ${major}.${minor}`);
  });

  it('truncated inside the header', () => {
    expectNpyError(() => parseNpy(good.subarray(0, 40), 'x.npy'), 'x.npy: truncated: header declares 118 bytes but only 30 follow');
    const v2 = fixture('v2.npy');
    expectNpyError(() => parseNpy(v2.subarray(0, 11), 'v2.npy'), 'truncated', 'header length');
  });

  it('data shorter or longer than the shape needs', () => {
    expectNpyError(() => parseNpy(good.subarray(0, good.length - 1), 'x.npy'),
      'x.npy: data length 23 bytes but shape [2, 3] of dtype float32 needs 24');
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expectNpyError(() => parseNpy(longer, 'x.npy'), 'data length 28 bytes but shape [2, 3] of dtype float32 needs 24');
    expectNpyError(() => parseNpy(fixture('scalar.npy').subarray(0, 128)), '.npy data: data length 0 bytes but shape [] of dtype float32 needs 4');
  });
});

describe('parseNpy: memory', () => {
  it('returns a view when the data is aligned and a copy when it is not', () => {
    const file = fixture('i8.npy');
    const aligned = new Uint8Array(new ArrayBuffer(file.length + 8), 8);
    aligned.set(file);
    const view = parseNpy(aligned);
    expect(view.data.buffer).toBe(aligned.buffer);

    for (const offset of [1, 2, 4]) {
      const shifted = new Uint8Array(new ArrayBuffer(file.length + offset), offset);
      shifted.set(file);
      const copy = parseNpy(shifted);
      expect(copy.data.buffer).not.toBe(shifted.buffer);
      expect([...copy.data]).toEqual(FIXTURE_VALUES['i8.npy']!.values);
    }
  });

  it('normalizes bool bytes to 0/1', () => {
    const a = parseNpy(npyWithHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}", new Uint8Array([0, 2, 255])));
    expect([...a.data]).toEqual([0, 1, 1]);
  });
});

// Arrays to encode: every dtype, special float values, scalar, empty, 3-D.
const ENCODE_CASES: Record<string, NpyArray> = {
  float32: { dtype: 'float32', shape: [2, 3], data: new Float32Array([-1.5, 0, -0, NaN, Infinity, 3.4e38]) },
  float16: { dtype: 'float16', shape: [4], data: new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]) },
  int8: { dtype: 'int8', shape: [3], data: new Int8Array([-128, 0, 127]) },
  uint8: { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  int32: { dtype: 'int32', shape: [3, 1], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
  int64: { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]) },
  bool: { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  float64: { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -Number.MIN_VALUE]) },
  scalar: { dtype: 'int32', shape: [], data: new Int32Array([-7]) },
  empty: { dtype: 'float16', shape: [2, 0, 5], data: new Uint16Array(0) },
  rank3: { dtype: 'float32', shape: [2, 3, 4], data: Float32Array.from(range(24), (i) => i / 8) },
  wide: { dtype: 'uint8', shape: [123456789012, 0], data: new Uint8Array(0) },
};

describe('encodeNpy', () => {
  it.each(Object.entries(ENCODE_CASES))('%s round-trips through parseNpy with a 64-byte aligned header', (_name, array) => {
    const bytes = encodeNpy(array);
    const dataStart = 10 + new DataView(bytes.buffer).getUint16(8, true);
    expect(bytes[6]).toBe(1);
    expect(dataStart % 64).toBe(0);
    expect(bytes[dataStart - 1]).toBe(0x0a);
    expect(bytes.length - dataStart).toBe(array.data.byteLength);
    const back = parseNpy(bytes);
    expect(back.dtype).toBe(array.dtype);
    expect(back.shape).toEqual(array.shape);
    expect(Buffer.from(bytesOf(back.data)).equals(Buffer.from(bytesOf(array.data)))).toBe(true);
  });

  it('writes version 2.0 when the header does not fit in 65535 bytes', () => {
    const array: NpyArray = { dtype: 'float32', shape: new Array<number>(22000).fill(1), data: new Float32Array([2.5]) };
    const bytes = encodeNpy(array);
    expect(bytes[6]).toBe(2);
    const dataStart = 12 + new DataView(bytes.buffer).getUint32(8, true);
    expect(dataStart).toBeGreaterThan(65535);
    expect(dataStart % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.shape).toEqual(array.shape);
    expect([...back.data]).toEqual([2.5]);
  });

  it('writes nonzero bool bytes as 1', () => {
    const back = parseNpy(encodeNpy({ dtype: 'bool', shape: [3], data: new Uint8Array([0, 7, 1]) }));
    expect([...back.data]).toEqual([0, 1, 1]);
  });

  it('encodes a subarray view, not its whole buffer', () => {
    const whole = new Int32Array([1, 2, 3, 4, 5]);
    const back = parseNpy(encodeNpy({ dtype: 'int32', shape: [2], data: whole.subarray(2, 4) }));
    expect([...back.data]).toEqual([3, 4]);
  });

  it.each([
    [{ dtype: 'float32', shape: [3], data: new Float64Array(3) }, 'data must be a Float32Array, got Float64Array'],
    [{ dtype: 'int64', shape: [3], data: new Int32Array(3) }, 'data must be a BigInt64Array'],
    [{ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }, 'shape [2, 2] has 4 elements but data has 3'],
    [{ dtype: 'float32', shape: [-1], data: new Float32Array(1) }, 'shape must be non-negative integers, got [-1]'],
    [{ dtype: 'float32', shape: [1.5], data: new Float32Array(1) }, 'shape must be non-negative integers'],
    [{ dtype: 'complex64', shape: [1], data: new Float32Array(2) }, 'cannot encode dtype "complex64"'],
  ])('rejects %#', (array, fragment) => {
    expectNpyError(() => encodeNpy(array as NpyArray), fragment);
  });
});

describe('readNpyFile / writeNpyFile', () => {
  it('round-trips through the file system', async () => {
    const path = join(tmp, 'rt.npy');
    await writeNpyFile(path, ENCODE_CASES.int64!);
    const back = await readNpyFile(path);
    expect(back).toMatchObject({ dtype: 'int64', shape: [3] });
    expect([...back.data]).toEqual([...ENCODE_CASES.int64!.data]);
  });

  it('names the file in errors', async () => {
    const path = join(tmp, 'bad.npy');
    writeFileSync(path, 'not numpy');
    await expect(readNpyFile(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a \\.npy file`));
    await expect(readNpyFile(join(FIXTURES, 'fortran.npy'))).rejects.toBeInstanceOf(NpyFormatError);
  });

  it('lets file-system errors through', async () => {
    await expect(readNpyFile(join(tmp, 'missing.npy'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// numpy itself as the oracle for what we write.
const numpy = (() => {
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `python3 not runnable (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: 'python3 has no numpy' };
  return { ok: true, reason: `numpy ${r.stdout.trim()}` };
})();

const ORACLE = String.raw`
import io, json, sys
import numpy as np
from numpy.lib import format as fmt
out = {}
for path in sys.argv[1:]:
    raw = open(path, 'rb').read()
    f = open(path, 'rb')
    version = fmt.read_magic(f)
    if version == (2, 0):
        # numpy caps ndim at 64, so check the header and data without building an array.
        shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=10**6)
        out[path] = {'version': list(version), 'descr': dtype.str, 'shape': list(shape), 'fortran': fortran,
                     'hex': f.read().hex(), 'same_as_np_save': None}
        continue
    a = np.load(path)
    buf = io.BytesIO()
    np.save(buf, a)
    out[path] = {'version': list(version), 'descr': a.dtype.str, 'shape': list(a.shape),
                 'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                 'hex': a.tobytes().hex(), 'same_as_np_save': buf.getvalue() == raw}
print(json.dumps(out))
`;

interface OracleResult { version: number[]; descr: string; shape: number[]; fortran: boolean; hex: string; same_as_np_save: boolean | null }

describe.skipIf(!numpy.ok)(`numpy reads what encodeNpy writes (${numpy.ok ? numpy.reason : `skipped: ${numpy.reason}`})`, () => {
  const DESCR: Record<NpyDType, string> = {
    float32: '<f4', float16: '<f2', int8: '|i1', uint8: '|u1', int32: '<i4', int64: '<i8', bool: '|b1', float64: '<f8',
  };
  const cases: Record<string, NpyArray> = {
    ...ENCODE_CASES,
    v2: { dtype: 'int8', shape: new Array<number>(22000).fill(1), data: new Int8Array([-5]) },
  };
  let results: Record<string, OracleResult> = {};
  const paths: Record<string, string> = {};

  it('np.load runs over every encoded file', () => {
    for (const [name, array] of Object.entries(cases)) {
      paths[name] = join(tmp, `oracle-${name}.npy`);
      writeFileSync(paths[name], encodeNpy(array));
    }
    const r = spawnSync('python3', ['-c', ORACLE, ...Object.values(paths)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    results = JSON.parse(r.stdout) as Record<string, OracleResult>;
    expect(Object.keys(results)).toHaveLength(Object.keys(cases).length);
  });

  it.each(Object.keys(cases))('%s: same dtype, shape and bytes; identical to np.save', (name) => {
    const array = cases[name]!;
    const got = results[paths[name]!];
    expect(got).toBeDefined();
    expect(got!.version).toEqual(name === 'v2' ? [2, 0] : [1, 0]);
    expect(got!.descr).toBe(DESCR[array.dtype]);
    expect(got!.shape).toEqual(array.shape);
    expect(got!.fortran).toBe(false);
    expect(got!.hex).toBe(Buffer.from(bytesOf(array.data)).toString('hex'));
    if (name !== 'v2') expect(got!.same_as_np_save).toBe(true);
  });
});

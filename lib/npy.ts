/**
 * Reader and writer for NumPy's `.npy` format (versions 1.0, 2.0 and 3.0), limited to the
 * little-endian, C-ordered numeric dtypes an inference engine exchanges with the outside world.
 *
 * Format reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';

/** Element types this module reads and writes. `float16` travels as raw IEEE half bits. */
export type NpyDType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool' | 'float64';

/** The typed array that holds the elements of an {@link NpyArray} of each dtype. */
export type NpyData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array | Float64Array;

/**
 * A dense, C-ordered (row-major) array.
 *
 * `data.length` equals the product of `shape` (1 for the scalar shape `[]`). The typed array for
 * each dtype: float32 → Float32Array, float16 → Uint16Array (raw bits), int8 → Int8Array,
 * uint8 → Uint8Array, int32 → Int32Array, int64 → BigInt64Array, bool → Uint8Array (0 or 1),
 * float64 → Float64Array.
 */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

/** Thrown when bytes are not a `.npy` file this module supports, or an array cannot be encoded. */
export class NpyFormatError extends Error {
  override readonly name = 'NpyFormatError';
}

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyData;
  new (length: number): NpyData;
  readonly BYTES_PER_ELEMENT: number;
};

interface DTypeInfo {
  /** The canonical descr numpy writes (`np.dtype(x).str`). */
  descr: string;
  ctor: TypedArrayCtor;
}

const DTYPES: Record<NpyDType, DTypeInfo> = {
  float32: { descr: '<f4', ctor: Float32Array },
  float16: { descr: '<f2', ctor: Uint16Array },
  int8: { descr: '|i1', ctor: Int8Array },
  uint8: { descr: '|u1', ctor: Uint8Array },
  int32: { descr: '<i4', ctor: Int32Array },
  int64: { descr: '<i8', ctor: BigInt64Array as unknown as TypedArrayCtor },
  bool: { descr: '|b1', ctor: Uint8Array },
  float64: { descr: '<f8', ctor: Float64Array },
};

/** Maps the type part of a descr (without byte-order character) to our dtype. */
const DESCR_KINDS: Record<string, NpyDType> = {
  f4: 'float32', f2: 'float16', i1: 'int8', u1: 'uint8', i4: 'int32', i8: 'int64', b1: 'bool', f8: 'float64',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
/** numpy pads the header so the first axis can grow in place to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Header literal parser: the subset of Python literal syntax numpy headers use (no eval).

type PyValue = string | bigint | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

class LiteralParser {
  private pos = 0;
  constructor(private readonly text: string, private readonly fail: (what: string) => never) {}

  parseDocument(): PyValue {
    const value = this.value(0);
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail(`unexpected ${this.describeHere()} after the header dict`);
    return value;
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return 'end of header';
    return `${JSON.stringify(this.text.slice(this.pos, this.pos + 12))} at offset ${this.pos}`;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}' but found ${this.describeHere()}`);
    this.pos++;
  }

  /** Parses `open item, item, ... [,] close`; returns the items and whether any comma appeared. */
  private sequence<T>(close: string, item: () => T): { items: T[]; comma: boolean } {
    const items: T[] = [];
    let comma = false;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) break;
      items.push(item());
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        comma = true;
        continue;
      }
      if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}' but found ${this.describeHere()}`);
    }
    this.pos++;
    return { items, comma };
  }

  private value(depth: number): PyValue {
    if (depth > 16) this.fail('header literal is nested too deeply');
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '{') {
      this.pos++;
      const map = new Map<string, PyValue>();
      this.sequence('}', () => {
        const key = this.value(depth + 1);
        if (typeof key !== 'string') this.fail('header dict keys must be strings');
        this.expect(':');
        map.set(key, this.value(depth + 1));
      });
      return map;
    }
    if (ch === '(') {
      this.pos++;
      const { items, comma } = this.sequence(')', () => this.value(depth + 1));
      // `(x)` is just x in Python; `()` and `(x,)` are tuples.
      return items.length === 1 && !comma ? items[0]! : { tuple: items };
    }
    if (ch === '[') {
      this.pos++;
      return this.sequence(']', () => this.value(depth + 1)).items;
    }
    const str = /^[uUbB]?(['"])/.exec(this.text.slice(this.pos, this.pos + 2));
    if (str) return this.string(str[0].length, str[1]!);
    const int = /^[+-]?\d+[lL]?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (int) {
      this.pos += int[0].length;
      return BigInt(int[0].replace(/[lL]$/, ''));
    }
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.pos) && !/\w/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(`unexpected ${this.describeHere()}`);
  }

  private string(prefixLength: number, quote: string): string {
    this.pos += prefixLength;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++]!;
      if (c === quote) return out;
      if (c === '\\' && this.pos < this.text.length) out += this.text[this.pos++];
      else out += c;
    }
    return this.fail('unterminated string in header');
  }
}

function showPy(value: PyValue): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if (Array.isArray(value)) return `[${value.map(showPy).join(', ')}]`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `'${k}': ${showPy(v)}`).join(', ')}}`;
  const items = value.tuple.map(showPy);
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Reading

function resolveDescr(descr: PyValue, fail: (what: string) => never): NpyDType {
  if (typeof descr !== 'string') {
    return fail(`unsupported descr ${showPy(descr)} (structured dtypes are not supported)`);
  }
  const m = /^([<>=|]?)([a-z]\d+)$/.exec(descr);
  const dtype = m ? DESCR_KINDS[m[2]!] : undefined;
  if (!m || dtype === undefined) {
    const known = Object.values(DTYPES).map((d) => `'${d.descr}'`).join(', ');
    return fail(`unsupported descr '${descr}' (supported: ${known})`);
  }
  const order = m[1]!;
  const itemSize = DTYPES[dtype].ctor.BYTES_PER_ELEMENT;
  // Byte order is meaningless for one-byte types; for wider ones only little-endian is accepted.
  if (itemSize > 1 && order === '>') {
    return fail(`big-endian descr '${descr}' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))`);
  }
  if (itemSize > 1 && order === '|') return fail(`unsupported descr '${descr}' (byte order '|' on a multi-byte type)`);
  return dtype;
}

function resolveShape(shape: PyValue | undefined, fail: (what: string) => never): number[] {
  if (shape === undefined || shape === null || typeof shape !== 'object' || !('tuple' in shape)) {
    return fail(`shape must be a tuple of non-negative integers, got ${shape === undefined ? 'nothing' : showPy(shape)}`);
  }
  let count = 1;
  const dims = shape.tuple.map((d) => {
    if (typeof d !== 'bigint' || d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail(`shape must be a tuple of non-negative integers, got ${showPy(shape)}`);
    }
    count *= Number(d);
    return Number(d);
  });
  if (!Number.isSafeInteger(count)) fail(`shape ${formatShape(dims)} has too many elements`);
  return dims;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function decodeHeader(bytes: Uint8Array, utf8: boolean): string {
  if (utf8) return new TextDecoder('utf-8').decode(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

/**
 * Parses the bytes of a `.npy` file.
 *
 * When the data starts at an offset that is a multiple of the element size (always true for
 * files numpy writes, when `bytes` is itself aligned) the returned `data` is a view that shares
 * memory with `bytes`; otherwise it is a copy. Bool data with bytes other than 0/1 is copied and
 * normalized to 0/1.
 *
 * @param bytes The whole file.
 * @param source A name (usually the file path) to put in error messages; default `'.npy data'`.
 * @throws {NpyFormatError} naming `source` and what is wrong: bad magic, unsupported version,
 *   truncated header, unparsable header, unsupported descr, Fortran order, invalid shape, or a
 *   data length that does not match the shape.
 */
export function parseNpy(bytes: Uint8Array, source = '.npy data'): NpyArray {
  const fail = (what: string): never => {
    throw new NpyFormatError(`${source}: ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(`not a .npy file (bad magic: expected 93 4e 55 4d 50 59 "\\x93NUMPY", got ${head || 'no bytes'})`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    fail(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) fail(`truncated: file ends inside the header length (${bytes.length} bytes)`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthSize + headerLength;
  if (dataStart > bytes.length) {
    fail(`truncated: header declares ${headerLength} bytes but only ${bytes.length - 8 - lengthSize} follow`);
  }
  const header = decodeHeader(bytes.subarray(8 + lengthSize, dataStart), major === 3);
  const dict = new LiteralParser(header, (what) => fail(`cannot parse header ${JSON.stringify(header.trim())}: ${what}`)).parseDocument();
  if (!(dict instanceof Map)) return fail(`header is not a dict: ${JSON.stringify(header.trim())}`);
  const missing = ['descr', 'fortran_order', 'shape'].filter((k) => !dict.has(k));
  const extra = [...dict.keys()].filter((k) => !['descr', 'fortran_order', 'shape'].includes(k));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''];
    fail(`header keys must be exactly descr, fortran_order, shape (${parts.filter(Boolean).join('; ')})`);
  }

  const dtype = resolveDescr(dict.get('descr')!, fail);
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') return fail(`fortran_order must be True or False, got ${showPy(fortran!)}`);
  const shape = resolveShape(dict.get('shape'), fail);
  if (fortran) {
    fail(`fortran_order=True (column-major) arrays are not supported; save np.ascontiguousarray(arr) instead`);
  }

  const { ctor } = DTYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const needed = count * ctor.BYTES_PER_ELEMENT;
  const available = bytes.length - dataStart;
  if (available !== needed) {
    fail(`data length ${available} bytes but shape ${formatShape(shape)} of dtype ${dtype} needs ${needed}`);
  }
  if (ctor.BYTES_PER_ELEMENT > 1 && !HOST_IS_LITTLE_ENDIAN) fail('reading multi-byte dtypes needs a little-endian host');

  const absolute = bytes.byteOffset + dataStart;
  let data: NpyData;
  if (absolute % ctor.BYTES_PER_ELEMENT === 0) {
    data = new ctor(bytes.buffer, absolute, count);
  } else {
    const copy = bytes.slice(dataStart, dataStart + needed); // new buffer, offset 0
    data = new ctor(copy.buffer, 0, count);
  }
  if (dtype === 'bool' && (data as Uint8Array).some((b) => b > 1)) data = (data as Uint8Array).map((b) => (b ? 1 : 0));
  return { dtype, shape, data };
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Encodes an array as a `.npy` file, byte-for-byte as `np.save` would: format 1.0 (2.0 only when
 * the header exceeds 65535 bytes), header padded with spaces and ending in `'\n'` so the data
 * starts at a multiple of 64 bytes. Bool elements other than 0 are written as 1.
 *
 * @throws {NpyFormatError} if `dtype` is unknown, `data` is not the typed array for `dtype`, the
 *   shape is not non-negative integers, or `data.length` does not equal the shape's element count.
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { dtype, shape } = array;
  const info = Object.hasOwn(DTYPES, dtype) ? DTYPES[dtype] : undefined;
  if (!info) throw new NpyFormatError(`cannot encode dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
  if (!(array.data instanceof info.ctor)) {
    throw new NpyFormatError(`cannot encode dtype ${dtype}: data must be a ${info.ctor.name}, got ${array.data?.constructor?.name}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new NpyFormatError(`cannot encode: shape must be non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) {
    throw new NpyFormatError(`cannot encode: shape ${formatShape(shape)} has ${count} elements but data has ${array.data.length}`);
  }
  if (info.ctor.BYTES_PER_ELEMENT > 1 && !HOST_IS_LITTLE_ENDIAN) {
    throw new NpyFormatError('writing multi-byte dtypes needs a little-endian host');
  }

  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  // dict is ASCII, so its length in bytes is its length in characters.
  let major = 1;
  let prefix = 10;
  let total = prefix + dict.length + 1;
  let padded = Math.ceil(total / ARRAY_ALIGN) * ARRAY_ALIGN;
  if (padded - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = prefix + dict.length + 1;
    padded = Math.ceil(total / ARRAY_ALIGN) * ARRAY_ALIGN;
  }
  // Like numpy (padlen = ALIGN - total % ALIGN): an already aligned header still gets ALIGN spaces.
  if (total % ARRAY_ALIGN === 0) padded += ARRAY_ALIGN;
  const headerLength = padded - prefix;

  let data = array.data;
  if (dtype === 'bool' && (data as Uint8Array).some((b) => b > 1)) data = (data as Uint8Array).map((b) => (b ? 1 : 0));
  const out = new Uint8Array(padded + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.fill(0x20, prefix + dict.length, padded - 1);
  out[padded - 1] = 0x0a;
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), padded);
  return out;
}

/**
 * Reads and parses a `.npy` file; error messages name `path`.
 * @throws {NpyFormatError} as {@link parseNpy}; file-system errors propagate unchanged.
 */
export async function readNpyFile(path: string): Promise<NpyArray> {
  const bytes = await readFile(path);
  return parseNpy(bytes, path);
}

/**
 * Encodes `array` with {@link encodeNpy} and writes it to `path` (replacing any existing file).
 * @throws {NpyFormatError} as {@link encodeNpy}; file-system errors propagate unchanged.
 */
export async function writeNpyFile(path: string, array: NpyArray): Promise<void> {
  await writeFile(path, encodeNpy(array));
}

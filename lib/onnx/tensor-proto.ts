/**
 * TensorProto → {dtype, dims, bytes}: every storage form ONNX writers use (raw_data; float_data,
 * int32_data, int64_data; external data files). Used for initializers and Constant/ConstantOfShape values,
 * and by the conformance runner for its input_N.pb/output_N.pb files. Loads no native code.
 *
 * Dtypes inferrt has no kernels for (double, int16, uint16/32/64, string, bfloat16, float8, complex) are
 * refused with UNSUPPORTED_OP naming the tensor and its dtype. Doubles are deliberately not narrowed to
 * float32: that would silently change a graph's output dtype and numerics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { onnx as pb } from 'onnx-proto';
import type { DType, TensorData } from '../dtypes.js';
import { InferrtError } from '../errors.js';
import { toBigInt, toNumber } from './proto.js';

/** ONNX TensorProto.DataType codes. */
export const OnnxDataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
} as const;

const onnxNames: Record<number, string> = {
  0: 'undefined', 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64',
  15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
  20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4',
};

const fromOnnx: Partial<Record<number, DType>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16',
};
const toOnnx: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };
const elementSize: Record<DType, number> = { float32: 4, float16: 2, int8: 1, uint8: 1, int32: 4, int64: 8, bool: 1 };

/** The ONNX name of a data type code ('float', 'double', 'int64', ...). */
export function onnxDTypeName(code: number): string {
  return onnxNames[code] ?? `unknown data type ${code}`;
}

/** ONNX data type code → inferrt dtype; UNSUPPORTED_OP naming `what` when inferrt has no such dtype. */
export function dtypeFromOnnx(code: number, what: string): DType {
  const dtype = fromOnnx[code];
  if (dtype) return dtype;
  throw new InferrtError(
    'UNSUPPORTED_OP',
    `${what} has dtype ${onnxDTypeName(code)}, which inferrt does not support (supported: float, float16, int8, uint8, int32, int64, bool)`,
    { dtype: onnxDTypeName(code), onnxDataType: code },
  );
}

/** inferrt dtype → ONNX data type code. */
export function onnxDataTypeOf(dtype: DType): number {
  return toOnnx[dtype];
}

/** A decoded tensor: little-endian element bytes, row-major. */
export interface DecodedTensor {
  name: string;
  dtype: DType;
  dims: number[];
  bytes: Uint8Array;
}

/** Options of {@link decodeTensorProto}. */
export interface DecodeTensorOptions {
  /** Directory external data locations are relative to (the model file's directory). Required for external data. */
  modelDir?: string;
  /** How messages name the tensor. Default: `tensor '<name>'`. */
  what?: string;
}

/** Decodes one TensorProto. Malformed contents → INVALID_MODEL; unsupported dtypes → UNSUPPORTED_OP. */
export function decodeTensorProto(t: pb.ITensorProto, options: DecodeTensorOptions = {}): DecodedTensor {
  const name = t.name ?? '';
  const what = options.what ?? `tensor '${name}'`;
  const bad = (why: string): never => {
    throw new InferrtError('INVALID_MODEL', `${what}: ${why}`);
  };
  const code = t.dataType ?? 0;
  if (code === OnnxDataType.UNDEFINED) bad('data_type is not set');
  const dtype = dtypeFromOnnx(code, what);
  if (t.segment) bad('segmented tensors are not supported');

  const dims = (t.dims ?? []).map((d) => toNumber(d));
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) bad(`dims must be non-negative integers, got [${dims.join(', ')}]`);
    count *= d;
  }
  const size = elementSize[dtype];
  const expectedBytes = count * size;
  if (!Number.isSafeInteger(expectedBytes)) bad(`dims [${dims.join(', ')}] are too large`);

  let bytes: Uint8Array;
  if (t.dataLocation === 1) {
    bytes = readExternal(t, options.modelDir, what, expectedBytes);
  } else if (t.rawData && t.rawData.byteLength > 0) {
    bytes = t.rawData;
    if (bytes.byteLength !== expectedBytes) {
      bad(`raw_data holds ${bytes.byteLength} bytes, but dims [${dims.join(', ')}] of ${dtype} need ${expectedBytes}`);
    }
  } else {
    bytes = fromTypedFields(t, dtype, count, bad);
  }
  return { name, dtype, dims, bytes };
}

/** A decoded tensor's elements as its dtype's typed array (aligned; may share memory with the model bytes). */
export function tensorDataOf(t: DecodedTensor): TensorData {
  return viewAligned(t.dtype, t.bytes);
}

/** Views little-endian bytes as the dtype's typed array, copying when misaligned. */
export function viewAligned(dtype: DType, bytes: Uint8Array): TensorData {
  const size = elementSize[dtype];
  // Copy with `new Uint8Array(view)`: Buffer#slice (protobufjs hands out Buffers) would not copy.
  const buf = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = buf.byteLength / size;
  switch (dtype) {
    case 'float32': return new Float32Array(buf.buffer, buf.byteOffset, n);
    case 'float16': return new Uint16Array(buf.buffer, buf.byteOffset, n);
    case 'int8': return new Int8Array(buf.buffer, buf.byteOffset, n);
    case 'uint8':
    case 'bool': return new Uint8Array(buf.buffer, buf.byteOffset, n);
    case 'int32': return new Int32Array(buf.buffer, buf.byteOffset, n);
    case 'int64': return new BigInt64Array(buf.buffer, buf.byteOffset, n);
  }
}

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function fromTypedFields(t: pb.ITensorProto, dtype: DType, count: number, bad: (why: string) => never): Uint8Array {
  const check = (field: string, n: number): void => {
    if (n !== count) bad(`${field} holds ${n} values, but dims need ${count}`);
  };
  switch (dtype) {
    case 'float32': {
      const v = t.floatData ?? [];
      check('float_data', v.length);
      return asBytes(Float32Array.from(v));
    }
    case 'int64': {
      const v = t.int64Data ?? [];
      check('int64_data', v.length);
      return asBytes(BigInt64Array.from(v, (x) => toBigInt(x)));
    }
    default: {
      // int32_data carries every narrower type: int32/int8/uint8/bool values, float16 raw bits.
      const v = t.int32Data ?? [];
      check('int32_data', v.length);
      switch (dtype) {
        case 'int32': return asBytes(Int32Array.from(v));
        case 'int8': return asBytes(Int8Array.from(v));
        case 'uint8': return asBytes(Uint8Array.from(v));
        case 'bool': return Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
        case 'float16': return asBytes(Uint16Array.from(v, (x) => x & 0xffff));
      }
    }
  }
  return bad(`no data for dtype ${dtype}`);
}

/** Reads data_location=EXTERNAL data: `location` relative to the model's directory, `offset`, `length`. */
function readExternal(t: pb.ITensorProto, modelDir: string | undefined, what: string, expectedBytes: number): Uint8Array {
  const bad = (why: string): never => {
    throw new InferrtError('INVALID_MODEL', `${what}: ${why}`);
  };
  const entries = new Map<string, string>();
  for (const e of t.externalData ?? []) entries.set(e.key ?? '', e.value ?? '');
  const location = entries.get('location');
  if (!location) return bad('external data has no location');
  if (modelDir === undefined) {
    return bad(`data is in external file '${location}', but the model was parsed from bytes without options.modelDir`);
  }
  if (path.isAbsolute(location) || location.includes('\0')) bad(`external data location '${location}' must be a relative path`);
  const dir = path.resolve(modelDir);
  const file = path.resolve(dir, location);
  const inside = (root: string, p: string): boolean => {
    const rel = path.relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (!inside(dir, file)) bad(`external data location '${location}' points outside the model's directory`);
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return bad(`external data file '${location}' not found in ${dir}`);
  }
  if (!inside(fs.realpathSync(dir), real)) bad(`external data location '${location}' resolves outside the model's directory`);

  const parseInt64 = (key: string): number | undefined => {
    const s = entries.get(key);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) bad(`external data ${key} must be a non-negative integer, got '${s}'`);
    return Number(s);
  };
  const offset = parseInt64('offset') ?? 0;
  const fd = fs.openSync(real, 'r');
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) bad(`external data location '${location}' is not a file`);
    const length = parseInt64('length') ?? stat.size - offset;
    if (offset + length > stat.size) {
      bad(`external data [offset ${offset}, length ${length}] runs past the end of '${location}' (${stat.size} bytes)`);
    }
    if (length !== expectedBytes) bad(`external data length is ${length} bytes, but the tensor's dims need ${expectedBytes}`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n <= 0) bad(`external data file '${location}' ended early`);
      done += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A float32 or float16 initializer's elements, read and cleared in the storage form the model uses: raw_data is
 * edited in place (its bytes are a view into the model being written), float_data / int32_data (fp16 bits) are
 * edited as decoded arrays, which then need the model re-encoded.
 */
import type { onnx as pb } from 'onnx-proto';
import { halfBitsToFloat } from '../dtypes.js';
import { InferrtError } from '../errors.js';
import { toNumber } from '../onnx/proto.js';
import { OnnxDataType } from '../onnx/tensor-proto.js';

/** Mutable access to one weight's elements. */
export interface WeightValues {
  dtype: 'float32' | 'float16';
  /** |w| per element. */
  magnitudes(): Float64Array;
  /** Sets element `index` to +0. */
  zero(index: number): void;
  /** Where the edits live: 'raw' (in raw_data's bytes) or 'fields' (decoded arrays: the model must be re-encoded). */
  storage: 'raw' | 'fields';
}

/** Whether the pruner handles initializers of this ONNX data type (float32 and float16; others are skipped). */
export function isPrunableDataType(code: number): boolean {
  return code === OnnxDataType.FLOAT || code === OnnxDataType.FLOAT16;
}

/**
 * Opens `t` (a FLOAT or FLOAT16 initializer) for pruning. External data → INVALID_ARGUMENT (prune edits one
 * .onnx file); data that does not match the dims → INVALID_MODEL.
 */
export function weightValues(t: pb.ITensorProto, what: string): WeightValues {
  const dtype = t.dataType === OnnxDataType.FLOAT ? 'float32' : 'float16';
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  const bad = (why: string): never => {
    throw new InferrtError('INVALID_MODEL', `${what}: ${why}`);
  };
  if (t.dataLocation === 1) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '?';
    throw new InferrtError('INVALID_ARGUMENT', `${what} is stored in external data file '${location}'; prune rewrites one .onnx file and needs its weights embedded (raw_data or float_data)`);
  }
  if (t.segment) bad('segmented tensors are not supported');
  const size = dtype === 'float32' ? 4 : 2;
  const raw = t.rawData;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== count * size) bad(`raw_data holds ${raw.byteLength} bytes, but dims [${dims.join(', ')}] of ${dtype} need ${count * size}`);
    return rawValues(raw, dtype, count);
  }
  if (dtype === 'float32') {
    const v = t.floatData ?? [];
    if (v.length !== count) bad(`float_data holds ${v.length} values, but dims [${dims.join(', ')}] need ${count}`);
    return { dtype, storage: 'fields', magnitudes: () => Float64Array.from(v, (x) => Math.abs(x)), zero: (i) => void (v[i] = 0) };
  }
  const v = t.int32Data ?? [];
  if (v.length !== count) bad(`int32_data holds ${v.length} values, but dims [${dims.join(', ')}] need ${count}`);
  return { dtype, storage: 'fields', magnitudes: () => Float64Array.from(v, (x) => Math.abs(halfBitsToFloat(x & 0xffff))), zero: (i) => void (v[i] = 0) };
}

/** raw_data seen through a DataView, so unaligned bytes are edited where they are (little-endian, as ONNX stores them). */
function rawValues(raw: Uint8Array, dtype: 'float32' | 'float16', count: number): WeightValues {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dtype === 'float32') {
    return {
      dtype, storage: 'raw',
      magnitudes: () => Float64Array.from({ length: count }, (_, i) => Math.abs(view.getFloat32(i * 4, true))),
      zero: (i) => view.setFloat32(i * 4, 0, true),
    };
  }
  return {
    dtype, storage: 'raw',
    magnitudes: () => Float64Array.from({ length: count }, (_, i) => Math.abs(halfBitsToFloat(view.getUint16(i * 2, true)))),
    zero: (i) => view.setUint16(i * 2, 0, true),
  };
}

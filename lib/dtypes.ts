/**
 * Tensor element types and their JavaScript representations. float16 crosses into JS as a Uint16Array of
 * raw IEEE half bits (Node 20 has no Float16Array); use {@link toFloat16Bits} / {@link fromFloat16Bits}.
 */
import { DTypeCode } from './dtype-codes.js';
import { InferrtError } from './errors.js';

/** Element types an engine's tensors may have. */
export type DType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

/** The typed array that holds each dtype's elements. */
export interface TypedArrayFor {
  float32: Float32Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** Any typed array a tensor may hold. */
export type TensorData = TypedArrayFor[DType];

const codes: Record<DType, DTypeCode> = {
  float32: DTypeCode.Float32,
  float16: DTypeCode.Float16,
  int8: DTypeCode.Int8,
  uint8: DTypeCode.UInt8,
  int32: DTypeCode.Int32,
  int64: DTypeCode.Int64,
  bool: DTypeCode.Bool,
};
const names: DType[] = ['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'];
const sizes: Record<DType, number> = { float32: 4, float16: 2, int8: 1, uint8: 1, int32: 4, int64: 8, bool: 1 };

/** All dtypes, in code order. */
export const DTYPES: readonly DType[] = names;

/** @internal */
export function dtypeCode(dtype: DType, what = 'dtype'): number {
  // Own keys only: 'toString' or 'constructor' must not find Object.prototype's members.
  const code = Object.hasOwn(codes, dtype) ? codes[dtype] : undefined;
  if (code === undefined) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be one of ${names.join(', ')}, got ${String(dtype)}`);
  }
  return code;
}

/** @internal */
export function dtypeFromCode(code: number): DType {
  const name = names[code];
  if (name === undefined) throw new InferrtError('INTERNAL', `unknown dtype code ${code}`);
  return name;
}

/** Bytes per element. */
export function dtypeSize(dtype: DType): number {
  return sizes[dtype];
}

/** Allocates a zeroed typed array for `length` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, length: number): TypedArrayFor[D] {
  return viewBytes(dtype, new Uint8Array(length * sizes[dtype])) as TypedArrayFor[D];
}

/** Views raw little-endian bytes as the dtype's typed array (copies when the offset is misaligned). */
export function viewBytes(dtype: DType, bytes: Uint8Array): TensorData {
  const size = sizes[dtype];
  let buf = bytes;
  if (bytes.byteOffset % size !== 0) buf = new Uint8Array(bytes);  // copies (Buffer#slice would not)
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

/** The raw bytes of a typed array (a view, no copy). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether `data` is the typed array that holds `dtype`. */
export function matchesDType(dtype: DType, data: unknown): boolean {
  switch (dtype) {
    case 'float32': return data instanceof Float32Array;
    case 'float16': return data instanceof Uint16Array;
    case 'int8': return data instanceof Int8Array;
    case 'uint8':
    case 'bool': return data instanceof Uint8Array;
    case 'int32': return data instanceof Int32Array;
    case 'int64': return data instanceof BigInt64Array;
  }
}

/** The dtype a typed array most naturally holds (Uint8Array → uint8, Uint16Array → float16). */
export function dtypeOfData(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return undefined;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Converts one float to IEEE half bits, rounding to nearest even (as the engine does). */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    if (abs < 0x33000000) return sign;
    const e = abs >>> 23;
    const m = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (((abs >>> 23) - 112) << 10) | ((abs & 0x7fffff) >>> 13);
  const rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

/** Converts IEEE half bits to a number. */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Float values → raw fp16 bits (round to nearest even). */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]!);
  return out;
}

/** Raw fp16 bits → Float32Array. */
export function fromFloat16Bits(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat(bits[i]!);
  return out;
}

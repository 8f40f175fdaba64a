/**
 * Host tensors: what `ExecutionContext.infer` takes and returns. A tensor is a dtype, a shape and a
 * row-major typed array; float16 travels as raw IEEE half bits in a Uint16Array, bool as a Uint8Array of 0/1.
 */
import type { NativeHostTensor } from './binding.js';
import { bytesOf, dtypeCode, dtypeFromCode, dtypeOfData, matchesDType, viewBytes, type DType, type TensorData, type TypedArrayFor } from './dtypes.js';
import { InferrtError } from './errors.js';

/** A dense, row-major host tensor. `data.length` equals the product of `shape` (1 for the scalar shape `[]`). */
export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TypedArrayFor[D];
}

/** A tensor given as data and shape; `dtype` defaults to the typed array's natural dtype (Uint8Array → uint8, Uint16Array → float16). */
export interface TensorLike {
  data: TensorData;
  shape: readonly number[];
  dtype?: DType;
}

/**
 * What `infer` accepts for one input: a {@link Tensor}, a {@link TensorLike} `{ data, shape, dtype? }`, or a bare
 * typed array when the context already knows the input's shape (a static input, or one set with `setInputShape`
 * or by an earlier `infer`).
 */
export type TensorInput = Tensor | TensorLike | TensorData;

/** Number of elements of a shape (1 for `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 3]` — the form shapes take in messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Whether `value` is a typed array inferrt can hold (Float32Array, Uint16Array, Int8Array, Uint8Array, Int32Array, BigInt64Array). */
export function isTensorData(value: unknown): value is TensorData {
  return dtypeOfData(value) !== undefined;
}

/** The constructor name of a value, for messages ("Float32Array", "Array", "undefined"). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

/** The typed array name each dtype needs, for messages. */
export const typedArrayName: Record<DType, string> = {
  float32: 'Float32Array',
  float16: 'Uint16Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  bool: 'Uint8Array',
};

/** Checks that `shape` is an array of non-negative integers; `what` names it in the message. */
export function checkShape(shape: unknown, what: string): asserts shape is number[] {
  if (!Array.isArray(shape)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what} must be an array of non-negative integers, got ${describeValue(shape)}`);
  }
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}[${i}] must be a non-negative integer, got ${String(d)}`);
    }
  });
}

/**
 * Makes a {@link Tensor}, checking that `data` holds `shape`'s element count and matches `dtype`.
 * `dtype` defaults to the typed array's natural dtype; pass 'bool' for a Uint8Array of 0/1.
 * @example tensor(new Float32Array([1, 2, 3, 4]), [2, 2])
 */
export function tensor<A extends TensorData>(data: A, shape: readonly number[]): Tensor<NaturalDType<A>>;
export function tensor<D extends DType>(data: TypedArrayFor[D], shape: readonly number[], dtype: D): Tensor<D>;
export function tensor(data: TensorData, shape: readonly number[], dtype?: DType): Tensor {
  const natural = dtypeOfData(data);
  if (!natural) throw new InferrtError('INVALID_ARGUMENT', `tensor: data must be a typed array, got ${describeValue(data)}`);
  if (dtype !== undefined) {
    dtypeCode(dtype, 'tensor: dtype');
    if (!matchesDType(dtype, data)) {
      throw new InferrtError('DTYPE_MISMATCH', `tensor: dtype '${dtype}' needs a ${typedArrayName[dtype]}, got ${describeValue(data)}`);
    }
  }
  checkShape(shape, 'tensor: shape');
  const n = shapeSize(shape);
  if (data.length !== n) {
    throw new InferrtError('SHAPE_MISMATCH', `tensor: shape ${formatShape(shape)} needs ${n} elements, got ${data.length}`);
  }
  return { dtype: dtype ?? natural, shape: [...shape], data };
}

/** The dtype a typed array type maps to by default. */
export type NaturalDType<A> = A extends Float32Array ? 'float32'
  : A extends Uint16Array ? 'float16'
  : A extends Int8Array ? 'int8'
  : A extends Uint8Array ? 'uint8'
  : A extends Int32Array ? 'int32'
  : A extends BigInt64Array ? 'int64'
  : DType;

/** @internal A host tensor in the addon's form (bytes are a view, not a copy; the addon copies them). */
export function toNativeTensor(t: Tensor): NativeHostTensor {
  return { dtype: dtypeCode(t.dtype), dims: t.shape, data: bytesOf(t.data) };
}

/** @internal A native result as a {@link Tensor} with the dtype's typed array. */
export function fromNativeTensor(t: NativeHostTensor): Tensor {
  const dtype = dtypeFromCode(t.dtype);
  return { dtype, shape: [...t.dims], data: viewBytes(dtype, t.data) };
}

/**
 * One batcher request, checked before it is queued (so a bad request rejects alone and never poisons a batch) and
 * copied (so the caller may reuse its buffers as soon as `infer` returns). The checks and their codes follow
 * `ExecutionContext.infer`: INVALID_ARGUMENT for names and forms, DTYPE_MISMATCH for the wrong typed array,
 * SHAPE_MISMATCH for a shape the engine or the batcher cannot take.
 */
import { isPlainObject } from '../config.js';
import { bytesOf, dtypeCode, matchesDType, viewBytes, type DType, type TensorData } from '../dtypes.js';
import type { TensorInfo } from '../engine.js';
import { InferrtError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { describeValue, formatShape, isTensorData, shapeSize, typedArrayName, type TensorInput } from '../tensor.js';

/** What a request is checked against: the engine's inputs and outputs, the batcher's profile and maxBatch. */
export interface RequestSpec {
  inputs: readonly TensorInfo[];
  outputNames: readonly string[];
  profile: number;
  maxBatch: number;
}

/** A validated request: its own copy of every input, its row count and the key of the batches it may join. */
export interface PreparedRequest {
  /** Axis 0 of every input: the rows this request adds to a batch. */
  rows: number;
  /** The non-batch dims of every input; only requests with equal keys share a batch. */
  key: string;
  /** Tokens the request adds to a batch: its sequence's length (packed sequences); absent for stacked rows. */
  tokens?: number;
  /** Each input's data (a copy) and shape, by name. */
  tensors: Map<string, { data: TensorData; shape: number[] }>;
}

const what = 'batcher.infer';

/** Validates and copies one request's inputs; throws InferrtError naming the input on anything wrong. */
export function prepareRequest(inputs: Record<string, TensorInput>, spec: RequestSpec): PreparedRequest {
  if (!isPlainObject(inputs)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: inputs must be an object mapping input names to tensors, got ${describeValue(inputs)}`);
  }
  const names = spec.inputs.map((t) => t.name);
  for (const name of Object.keys(inputs)) {
    if (names.includes(name)) continue;
    const hint = spec.outputNames.includes(name) ? ` ('${name}' is an output)` : didYouMean(name, names);
    throw new InferrtError('INVALID_ARGUMENT', `${what}: '${name}' is not an input of the engine${hint}; inputs: ${names.join(', ')}`);
  }
  const missing = names.filter((n) => inputs[n] === undefined);
  if (missing.length > 0) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')}; expected inputs: ${names.join(', ')}`);
  }
  const tensors = new Map<string, { data: TensorData; shape: number[] }>();
  const keyParts: string[] = [];
  let rows = -1;
  let rowsFrom = '';
  for (const info of spec.inputs) {
    const { data, shape } = readInput(info, inputs[info.name]);
    checkShape(info, shape, spec);
    if (data.length !== shapeSize(shape)) {
      throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${info.name}' has shape ${formatShape(shape)} (${shapeSize(shape)} elements) but its data has ${data.length}`);
    }
    if (rows >= 0 && shape[0] !== rows) {
      throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${info.name}' has ${shape[0]} rows (axis 0) but '${rowsFrom}' has ${rows}; every input's axis 0 is the request's row count`);
    }
    rows = shape[0]!;
    rowsFrom = info.name;
    keyParts.push(shape.slice(1).join('x'));
    tensors.set(info.name, { data: copyData(info.dtype, data), shape });
  }
  return { rows, key: keyParts.join('|'), tensors };
}

/** The data and shape of one input in any form `infer` takes. */
function readInput(info: TensorInfo, given: TensorInput | undefined): { data: TensorData; shape: number[] } {
  const name = info.name;
  if (isTensorData(given)) {
    checkDType(info, given);
    // A bare array says nothing about axis 0; it follows from the length when every other dim is static.
    const rest = info.dims.slice(1);
    if (rest.some((d) => d < 0)) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: input '${name}' was given as a bare ${describeValue(given)}, but its shape ${formatShape(info.dims)} has dynamic dims besides axis 0; pass { data, shape }`);
    }
    const rowSize = shapeSize(rest);
    if (rowSize === 0 || given.length % rowSize !== 0) {
      throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' was given as a bare ${describeValue(given)} of ${given.length} elements, which is not a whole number of rows of ${formatShape(rest)} (${rowSize} elements each)`);
    }
    return { data: given, shape: [given.length / rowSize, ...rest] };
  }
  if (!isPlainObject(given)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: input '${name}' must be a tensor { data, shape, dtype? } or a typed array, got ${describeValue(given)}`);
  }
  const data = given.data;
  if (!isTensorData(data)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: input '${name}'.data must be a typed array (${typedArrayName[info.dtype]}), got ${describeValue(data)}`);
  }
  checkDType(info, data);
  // The data fits; a dtype label must agree too (a Uint8Array labelled 'uint8' is not a 'bool' input).
  const dtype = given.dtype as DType | undefined;
  if (dtype !== undefined) {
    dtypeCode(dtype, `${what}: input '${name}'.dtype`);
    if (dtype !== info.dtype) {
      throw new InferrtError('DTYPE_MISMATCH', `${what}: input '${name}' must be ${info.dtype} (${typedArrayName[info.dtype]}), got dtype '${dtype}'`);
    }
  }
  const shape = given.shape as unknown;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new InferrtError('INVALID_ARGUMENT', `${what}: shape of input '${name}' must be an array of non-negative integers, got ${Array.isArray(shape) ? `[${shape.map(String).join(', ')}]` : describeValue(shape)}`);
  }
  return { data, shape: [...(shape as number[])] };
}

/**
 * A copy of `data` in a buffer of its own. Not `data.slice()`: a Node Buffer is a Uint8Array whose `slice` returns
 * a view of the caller's memory, which the caller may overwrite while the request waits in the queue.
 */
function copyData(dtype: DType, data: TensorData): TensorData {
  return viewBytes(dtype, bytesOf(data).slice());
}

function checkDType(info: TensorInfo, data: TensorData): void {
  if (!matchesDType(info.dtype, data)) {
    throw new InferrtError('DTYPE_MISMATCH', `${what}: input '${info.name}' must be ${info.dtype} (${typedArrayName[info.dtype]}), got ${describeValue(data)}`);
  }
}

/** Rank, the request's rows (1..maxBatch, within the profile), static dims and the profile's range for the rest. */
function checkShape(info: TensorInfo, shape: number[], spec: RequestSpec): void {
  const name = info.name;
  if (shape.length !== info.dims.length) {
    throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' must have rank ${info.dims.length} ${formatShape(info.dims)}, got shape ${formatShape(shape)}`);
  }
  const range = info.profiles[spec.profile]!;
  const minRows = Math.max(1, range.min[0]!);
  if (shape[0]! < minRows || shape[0]! > spec.maxBatch) {
    throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' has ${shape[0]} rows (axis 0 of ${formatShape(shape)}); a request must have ${minRows} to ${spec.maxBatch} rows (maxBatch ${spec.maxBatch})`);
  }
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i]!;
    if (info.dims[i]! >= 0 && d !== info.dims[i]) {
      throw new InferrtError('SHAPE_MISMATCH', `${what}: input '${name}' dim ${i} must be ${info.dims[i]}, got ${d} (shape ${formatShape(shape)}, expected ${formatShape(info.dims)})`);
    }
    if (d < range.min[i]! || d > range.max[i]!) {
      throw new InferrtError(
        'SHAPE_MISMATCH',
        `${what}: input '${name}' shape ${formatShape(shape)} is outside optimization profile ${spec.profile}: dim ${i} must be in [${range.min[i]}, ${range.max[i]}], got ${d} (min ${formatShape(range.min)}, max ${formatShape(range.max)})`,
      );
    }
  }
}

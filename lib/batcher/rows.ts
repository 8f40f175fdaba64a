/**
 * Row arithmetic on row-major tensors: stacking requests' inputs along axis 0 into one batch tensor, and cutting
 * a batch output back into each request's rows. Both copy bytes, so they work for every dtype alike.
 */
import { allocate, bytesOf, type DType, type TensorData } from '../dtypes.js';
import { shapeSize, type Tensor } from '../tensor.js';

/** Concatenates `parts` (same dtype, same non-batch dims `rest`) along axis 0 into one new tensor. */
export function concatRows(dtype: DType, rest: readonly number[], parts: ReadonlyArray<{ data: TensorData; rows: number }>): Tensor {
  let rows = 0;
  for (const p of parts) rows += p.rows;
  const data = allocate(dtype, rows * shapeSize(rest));
  const out = bytesOf(data);
  let offset = 0;
  for (const p of parts) {
    const bytes = bytesOf(p.data);
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return { dtype, shape: [rows, ...rest], data };
}

/**
 * Rows `[start, start + count)` of `t` as a tensor of their own. A copy, so a consumer keeping one request's result
 * does not pin the whole batch's buffer; only a tensor that is already exactly those rows is returned as is.
 */
export function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const rows = t.shape[0]!;
  const rest = t.shape.slice(1);
  const ownsBuffer = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength;
  if (start === 0 && count === rows && ownsBuffer) return t;
  const rowSize = shapeSize(rest);
  const data = t.data.slice(start * rowSize, (start + count) * rowSize) as TensorData;
  return { dtype: t.dtype, shape: [count, ...rest], data };
}

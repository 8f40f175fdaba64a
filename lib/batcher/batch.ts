/**
 * Runs one batch: stacks its requests' inputs along axis 0, runs them on a context, checks that every output has
 * one row per input row, and cuts the outputs back into each request's rows (in request order).
 */
import type { ExecutionContext } from '../context.js';
import { InferrtError } from '../errors.js';
import { formatShape, type Tensor } from '../tensor.js';
import type { PreparedRequest, RequestSpec } from './request.js';
import { concatRows, sliceRows } from './rows.js';

/** Runs `requests` (same key, at most maxBatch rows together) as one inference; resolves to each one's outputs. */
export async function runBatch(ctx: ExecutionContext, requests: readonly PreparedRequest[], spec: RequestSpec): Promise<Array<Record<string, Tensor>>> {
  const inputs: Record<string, Tensor> = {};
  for (const info of spec.inputs) {
    const first = requests[0]!.tensors.get(info.name)!;
    if (requests.length === 1) {
      inputs[info.name] = { dtype: info.dtype, shape: first.shape, data: first.data };  // already the request's own copy
      continue;
    }
    const parts = requests.map((r) => ({ data: r.tensors.get(info.name)!.data, rows: r.rows }));
    inputs[info.name] = concatRows(info.dtype, first.shape.slice(1), parts);
  }
  const rows = requests.reduce((n, r) => n + r.rows, 0);
  const outputs = await ctx.infer(inputs);
  for (const name of spec.outputNames) {
    const t = outputs[name]!;
    if (t.shape[0] !== rows) {
      throw new InferrtError('INVALID_ARGUMENT', `batcher: output '${name}' has shape ${formatShape(t.shape)} for a batch of ${rows} rows; the batcher needs every output's axis 0 to be the batch's rows, to hand each request its own`);
    }
  }
  let start = 0;
  return requests.map((r) => {
    const own: Record<string, Tensor> = {};
    for (const name of spec.outputNames) own[name] = sliceRows(outputs[name]!, start, r.rows);
    start += r.rows;
    return own;
  });
}

/**
 * Value sources and pass-throughs: Constant, ConstantOfShape, Range, EyeLike, Cast, CastLike, Identity,
 * Dropout (inference: identity).
 */
import type { DType } from '../../dtypes.js';
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import { typedArray } from '../context.js';
import type { ImporterTable } from '../importer.js';
import type { OnnxNode } from '../node.js';
import { dtypeFromOnnx } from '../tensor-proto.js';

function importConstant(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const n = ctx.network;
  const name = ctx.freshTensorName(`${node.name}/value`);
  const value = node.tensor('value');
  if (value) return ctx.tensorConstant(value, node, 'value');
  const f = node.float('value_float');
  if (f !== undefined) return n.addConstant([], Float32Array.of(f), { name, dtype: 'float32' });
  const fs = node.floats('value_floats');
  if (fs) return n.addConstant([fs.length], Float32Array.from(fs), { name, dtype: 'float32' });
  const i = node.bigint('value_int');
  if (i !== undefined) return n.addConstant([], BigInt64Array.of(i), { name, dtype: 'int64' });
  const is = node.bigints('value_ints');
  if (is) return n.addConstant([is.length], BigInt64Array.from(is), { name, dtype: 'int64' });
  for (const other of ['sparse_value', 'value_string', 'value_strings']) {
    if (node.has(other)) throw node.unsupported(`attribute '${other}' is not supported`);
  }
  throw node.invalid('has no value attribute');
}

function importConstantOfShape(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const shape = ctx.required(node, 0, 'input');
  const proto = node.tensor('value');
  const value = proto
    ? ctx.tensorConstant(proto, node, 'value')
    : ctx.network.addConstant([1], Float32Array.of(0), { name: ctx.freshTensorName(`${node.name}/value`), dtype: 'float32' });
  const count = value.dims.reduce((a, d) => a * d, 1);
  if (count !== 1) throw node.invalid(`attribute 'value' must hold exactly one element, got dims [${value.dims.join(', ')}]`);
  return ctx.network.addConstantOfShape(shape, value, ctx.opts(node)).output(0);
}

/** EyeLike on a statically shaped 2-D input: built as a constant. */
function importEyeLike(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'input');
  if (x.dims.length !== 2) throw node.invalid(`input must be 2-D, got dims [${x.dims.join(', ')}]`);
  const [rows, cols] = x.dims as [number, number];
  if (rows < 0 || cols < 0) throw node.unsupported('the input shape must be static');
  const dtypeCode = node.int('dtype');
  const dtype: DType = dtypeCode === undefined ? x.dtype : dtypeFromOnnx(dtypeCode, `node ${node.label} attribute 'dtype'`);
  const k = node.int('k', 0);
  const values = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) {
    const c = r + k;
    if (c >= 0 && c < cols) values[r * cols + c] = 1;
  }
  const out = typedArray(values, dtype);
  return ctx.network.addConstant([rows, cols], out, { name: ctx.freshTensorName(`${node.name}/eye`), dtype });
}

/**
 * Dropout in inference (or training with ratio 0, which drops nothing): the output is the input, and the mask
 * (when used) is all ones. Random dropout is not supported.
 */
function importDropout(ctx: ImportContext, node: OnnxNode): Array<NetworkTensor | null> {
  const training = ctx.input(node, 2);
  if (training) {
    const v = ctx.buildTimeNumbers(training, node);
    if (!v) throw node.unsupported('training_mode must be known at build time (random dropout is not supported)');
    const ratioTensor = ctx.input(node, 1);
    const ratio = ratioTensor ? ctx.buildTimeNumbers(ratioTensor, node)?.[0] : 0.5;
    if (v[0] && ratio !== 0) throw node.unsupported('training_mode=true with a nonzero ratio (random dropout) is not supported');
  }
  const x = ctx.required(node, 0, 'data');
  const y = ctx.network.addIdentity(x, ctx.opts(node)).output(0);
  if (!ctx.isConsumed(node.outputs[1] ?? '')) return [y];
  const shape = ctx.network.addShape(x, ctx.opts(node, 'shape')).output(0);
  const maskType: DType = node.opset >= 10 ? 'bool' : x.dtype;  // Dropout-7 typed the mask like the data
  const mask = ctx.network.addConstantOfShape(shape, ctx.scalar(1, maskType, node, 'one', [1]), ctx.opts(node, 'mask')).output(0);
  return [y, mask];
}

export const generatorImporters: ImporterTable = {
  Constant: { import: importConstant },
  ConstantOfShape: { minOpset: 9, import: importConstantOfShape },
  Range: {
    minOpset: 11,
    import: (ctx, node) =>
      ctx.network.addRange(ctx.required(node, 0, 'start'), ctx.required(node, 1, 'limit'), ctx.required(node, 2, 'delta'), ctx.opts(node)).output(0),
  },
  EyeLike: { minOpset: 9, import: importEyeLike },
  Cast: {
    minOpset: 6,  // Cast-1 named the target type with a string
    import: (ctx, node) => {
      const to = node.int('to');
      if (to === undefined) throw node.invalid("attribute 'to' is required");
      const dtype = dtypeFromOnnx(to, `node ${node.label} target type (attribute 'to')`);
      return ctx.network.addCast(ctx.required(node, 0, 'input'), dtype, ctx.opts(node)).output(0);
    },
  },
  CastLike: {
    minOpset: 15,
    import: (ctx, node) => ctx.network.addCast(ctx.required(node, 0, 'input'), ctx.required(node, 1, 'target_type').dtype, ctx.opts(node)).output(0),
  },
  Identity: { import: (ctx, node) => ctx.network.addIdentity(ctx.required(node, 0, 'input'), ctx.opts(node)).output(0) },
  Dropout: { import: importDropout },
};

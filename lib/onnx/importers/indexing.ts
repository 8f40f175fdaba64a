/**
 * Indexing and joining: Gather, GatherElements, Slice (inputs from opset 10, attributes before), Concat,
 * Split (split attribute ≤ 12, input ≥ 13, num_outputs 18), Pad (inputs from opset 11), Where, Trilu.
 */
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { ImporterTable } from '../importer.js';
import type { OnnxNode } from '../node.js';

function importSlice(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'data');
  if (node.opset >= 10) {
    return ctx.network.addSlice(x, ctx.required(node, 1, 'starts'), ctx.required(node, 2, 'ends'), ctx.input(node, 3), ctx.input(node, 4), ctx.opts(node)).output(0);
  }
  // Slice-1: int64 attributes; kept as bigints so INT64_MAX "to the end" sentinels stay exact.
  const starts = node.bigints('starts');
  const ends = node.bigints('ends');
  if (!starts || !ends) throw node.invalid("attributes 'starts' and 'ends' are required");
  const axes = node.bigints('axes');
  return ctx.network.addSlice(
    x,
    ctx.int64(starts, node, 'starts'),
    ctx.int64(ends, node, 'ends'),
    axes ? ctx.int64(axes, node, 'axes') : null,
    null,
    ctx.opts(node),
  ).output(0);
}

function importSplit(ctx: ImportContext, node: OnnxNode): NetworkTensor[] {
  const x = ctx.required(node, 0, 'input');
  const numOutputs = node.outputs.length;
  if (numOutputs < 1) throw node.invalid('has no outputs');
  const attrNum = node.int('num_outputs');
  if (attrNum !== undefined && attrNum !== numOutputs) throw node.invalid(`num_outputs is ${attrNum} but the node has ${numOutputs} outputs`);
  let split: NetworkTensor | number[] | undefined;
  node.rejectMovedAttribute('split', 13, 1);
  if (node.opset < 13) split = node.ints('split');
  else split = ctx.input(node, 1) ?? undefined;
  const layer = ctx.network.addSplit(x, { axis: node.int('axis', 0), split, numOutputs, ...ctx.opts(node, undefined, numOutputs) });
  return layer.outputs;
}

function importPad(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'data');
  const mode = node.string('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw node.unsupported(`mode '${mode}' is not supported (constant, reflect, edge are)`);
  if (node.opset < 11) {
    const pads = node.ints('pads') ?? node.ints('paddings');
    if (!pads) throw node.invalid("attribute 'pads' is required");
    const value = node.float('value', 0);
    const valueTensor = value !== 0 ? ctx.scalar(value, x.dtype, node, 'value') : null;
    return ctx.network.addPad(x, pads, { mode, value: valueTensor, ...ctx.opts(node) }).output(0);
  }
  node.rejectMovedAttribute('pads', 11, 1);
  node.rejectMovedAttribute('value', 11, 2);
  const axes = ctx.input(node, 3);
  return ctx.network.addPad(x, ctx.required(node, 1, 'pads'), {
    mode,
    value: ctx.input(node, 2),
    ...(axes ? { axes } : {}),
    ...ctx.opts(node),
  }).output(0);
}

/**
 * One-hot along `axis` of the output: Equal(Unsqueeze(indices, axis), Range(depth) shaped to broadcast along
 * that axis), then Where(on, off). Negative indices count from depth. The depth must be known at build time.
 */
export function oneHotMask(ctx: ImportContext, node: OnnxNode, indices: NetworkTensor, depth: number, axis: number): NetworkTensor {
  const n = ctx.network;
  const outRank = indices.dims.length + 1;
  const a = axis < 0 ? axis + outRank : axis;
  if (a < 0 || a >= outRank) throw node.invalid(`axis ${axis} is out of range for output rank ${outRank}`);
  if (!Number.isInteger(depth) || depth < 1) throw node.invalid(`depth must be a positive integer, got ${depth}`);
  let idx = indices.dtype === 'int64' ? indices : n.addCast(indices, 'int64', ctx.opts(node, 'indices_int64')).output(0);
  const negative = n.addElementWise(idx, ctx.scalar(0, 'int64', node, 'zero'), 'less', ctx.opts(node, 'negative')).output(0);
  const wrapped = n.addElementWise(idx, ctx.scalar(depth, 'int64', node, 'depth'), 'add', ctx.opts(node, 'wrapped')).output(0);
  idx = n.addWhere(negative, wrapped, idx, ctx.opts(node, 'indices')).output(0);
  const expanded = n.addUnsqueeze(idx, [a], ctx.opts(node, 'unsqueeze')).output(0);
  const classes = ctx.int64(Array.from({ length: depth }, (_, i) => i), node, 'classes', [depth, ...new Array<number>(outRank - 1 - a).fill(1)]);
  return n.addElementWise(expanded, classes, 'equal', ctx.opts(node, 'equal')).output(0);
}

function importOneHot(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const indices = ctx.required(node, 0, 'indices');
  const depthTensor = ctx.required(node, 1, 'depth');
  const depth = ctx.buildTimeNumbers(depthTensor, node);
  if (!depth) throw node.unsupported(`depth (input 1, '${node.inputs[1]}') must be known at build time (a constant, folded from constants, or given in options.inputValues)`);
  if (depth.length !== 1) throw node.invalid('depth must be a one-element tensor');
  const values = ctx.required(node, 2, 'values');
  // A float depth is cast to int64 (truncated) before use, as the spec says.
  const mask = oneHotMask(ctx, node, indices, Math.trunc(depth[0]!), node.int('axis', -1));
  const n = ctx.network;
  const off = n.addGather(values, ctx.int64([0], node, 'off_index', []), 0, ctx.opts(node, 'off')).output(0);
  const on = n.addGather(values, ctx.int64([1], node, 'on_index', []), 0, ctx.opts(node, 'on')).output(0);
  return n.addWhere(mask, on, off, ctx.opts(node)).output(0);
}

/**
 * GatherND as Gather on the data flattened over its first k dims (k: the static last dim of indices):
 * linear = Σ_j wrap(idx_j) · stride_j, with strides from the data's shape (computed at run time if dynamic).
 * batch_dims b > 0 folds the batch dims into one and prepends each element's batch coordinate to its index.
 */
function importGatherND(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const data = ctx.required(node, 0, 'data');
  const indices = ctx.required(node, 1, 'indices');
  const b = node.int('batch_dims', 0);
  const k = indices.dims[indices.dims.length - 1];
  if (k === undefined || k < 1) throw node.unsupported(`the last dim of indices must be static and ≥ 1, got dims [${indices.dims.join(', ')}]`);
  if (b < 0 || b >= indices.dims.length || b + k > data.dims.length) {
    throw node.invalid(`batch_dims ${b} with ${k}-element indices does not fit data of rank ${data.dims.length} and indices of rank ${indices.dims.length}`);
  }
  const n = ctx.network;
  const idx = indices.dtype === 'int64' ? indices : n.addCast(indices, 'int64', ctx.opts(node, 'indices_int64')).output(0);
  if (b === 0) return gatherNDFlat(ctx, node, data, idx, k, true);

  const minusOne = ctx.int64([-1], node, 'batch_minus_one');
  const foldBatch = (t: NetworkTensor, tag: string): NetworkTensor => {
    const rest = n.addShape(t, { start: b, ...ctx.opts(node, `${tag}_rest`) }).output(0);
    const shape = n.addConcat([minusOne, rest], 0, ctx.opts(node, `${tag}_folded_shape`)).output(0);
    return n.addReshape(t, shape, ctx.opts(node, `${tag}_folded`)).output(0);
  };
  const dataB = foldBatch(data, 'data');
  const idxB = foldBatch(idx, 'indices');
  const count = n.addShape(dataB, { start: 0, end: 1, ...ctx.opts(node, 'batch_count') }).output(0);
  const limit = n.addSqueeze(count, [0], ctx.opts(node, 'batch_limit')).output(0);
  const coords = n.addRange(ctx.scalar(0, 'int64', node, 'batch_start'), limit, ctx.scalar(1, 'int64', node, 'batch_step'), ctx.opts(node, 'batch_range')).output(0);
  const rank = idxB.dims.length;
  const column = n.addReshape(coords, [-1, ...new Array<number>(rank - 1).fill(1)], ctx.opts(node, 'batch_column')).output(0);
  const lead = n.addShape(idxB, { start: 0, end: rank - 1, ...ctx.opts(node, 'indices_lead') }).output(0);
  const target = n.addConcat([lead, ctx.int64([1], node, 'batch_one')], 0, ctx.opts(node, 'batch_target')).output(0);
  const batchIdx = n.addExpand(column, target, ctx.opts(node, 'batch_coords')).output(0);
  const full = n.addConcat([batchIdx, idxB], -1, ctx.opts(node, 'batched_indices')).output(0);
  const gathered = gatherNDFlat(ctx, node, dataB, full, k + 1, false);
  const outLead = n.addShape(idx, { start: 0, end: idx.dims.length - 1, ...ctx.opts(node, 'out_lead') }).output(0);
  const outRest = n.addShape(data, { start: b + k, ...ctx.opts(node, 'out_rest') }).output(0);
  const outShape = n.addConcat([outLead, outRest], 0, ctx.opts(node, 'out_shape')).output(0);
  return n.addReshape(gathered, outShape, ctx.opts(node)).output(0);
}

/** GatherND with batch_dims 0 on int64 indices whose last dim is k; `final` names the last layer after the node. */
function gatherNDFlat(ctx: ImportContext, node: OnnxNode, data: NetworkTensor, indices: NetworkTensor, k: number, final: boolean): NetworkTensor {
  const n = ctx.network;
  const last = final ? ctx.opts(node) : ctx.opts(node, 'gather');
  if (k === 1) {
    const flatIdx = n.addSqueeze(indices, [-1], ctx.opts(node, 'squeeze')).output(0);
    return n.addGather(data, flatIdx, 0, last).output(0);
  }
  const dims = n.addShape(data, { start: 0, end: k, ...ctx.opts(node, 'dims') }).output(0);
  const negative = n.addElementWise(indices, ctx.scalar(0, 'int64', node, 'zero'), 'less', ctx.opts(node, 'negative')).output(0);
  const wrapped = n.addElementWise(indices, dims, 'add', ctx.opts(node, 'wrapped')).output(0);
  const idx = n.addWhere(negative, wrapped, indices, ctx.opts(node, 'indices')).output(0);
  const strideParts: NetworkTensor[] = [];
  for (let j = 0; j < k - 1; j++) {
    const tail = n.addShape(data, { start: j + 1, end: k, ...ctx.opts(node, `tail_${j}`) }).output(0);
    strideParts.push(n.addReduce(tail, 'prod', { axes: [0], keepDims: true, ...ctx.opts(node, `stride_${j}`) }).output(0));
  }
  strideParts.push(ctx.int64([1], node, 'stride_last'));
  const strides = n.addConcat(strideParts, 0, ctx.opts(node, 'strides')).output(0);
  const scaled = n.addElementWise(idx, strides, 'mul', ctx.opts(node, 'scaled')).output(0);
  const linear = n.addReduce(scaled, 'sum', { axes: [-1], keepDims: false, ...ctx.opts(node, 'linear') }).output(0);
  const rest = n.addShape(data, { start: k, ...ctx.opts(node, 'rest') }).output(0);
  const flatShape = n.addConcat([ctx.int64([-1], node, 'minus_one'), rest], 0, ctx.opts(node, 'flat_shape')).output(0);
  const flat = n.addReshape(data, flatShape, ctx.opts(node, 'flatten')).output(0);
  return n.addGather(flat, linear, 0, last).output(0);
}

export const indexingImporters: ImporterTable = {
  Gather: { import: (ctx, node) => ctx.network.addGather(ctx.required(node, 0, 'data'), ctx.required(node, 1, 'indices'), node.int('axis', 0), ctx.opts(node)).output(0) },
  GatherElements: {
    minOpset: 11,
    import: (ctx, node) => ctx.network.addGatherElements(ctx.required(node, 0, 'data'), ctx.required(node, 1, 'indices'), node.int('axis', 0), ctx.opts(node)).output(0),
  },
  GatherND: { minOpset: 11, import: importGatherND },
  Slice: { import: importSlice },
  Concat: {
    import: (ctx, node) => {
      const axis = node.int('axis') ?? (node.opset < 4 ? 1 : undefined);  // Concat-1 defaulted to axis 1
      if (axis === undefined) throw node.invalid("attribute 'axis' is required");
      const xs = ctx.presentInputs(node);
      if (xs.length === 0) throw node.invalid('needs at least one input');
      return ctx.network.addConcat(xs, axis, ctx.opts(node)).output(0);
    },
  },
  Split: { minOpset: 2, import: importSplit },
  Pad: { import: importPad },
  OneHot: { minOpset: 9, import: importOneHot },
  Where: {
    minOpset: 9,
    import: (ctx, node) =>
      ctx.network.addWhere(ctx.required(node, 0, 'condition'), ctx.required(node, 1, 'X'), ctx.required(node, 2, 'Y'), ctx.opts(node)).output(0),
  },
  Trilu: {
    minOpset: 14,
    import: (ctx, node) => {
      const k = ctx.input(node, 1);
      return ctx.network.addTrilu(ctx.required(node, 0, 'input'), { upper: node.int('upper', 1) !== 0, ...(k ? { k } : {}), ...ctx.opts(node) }).output(0);
    },
  },
};

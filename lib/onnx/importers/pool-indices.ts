/**
 * MaxPool's optional Indices output, composed from existing layers (the Pooling layer has none): the input is
 * padded with -inf, one strided Slice per kernel offset gives every window's candidates, ArgMax picks the first
 * maximum (ONNX scan order), and a build-time table maps (offset, output position) to the flat input index,
 * to which (n·C + c)·spatial is added. Needs static spatial dims.
 */
import type { DType } from '../../dtypes.js';
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { OnnxNode } from '../node.js';

interface Window {
  spatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
  out: number[];
}

/** The window geometry; output dims are taken from the pooling layer's values output so both agree. */
function windowOf(node: OnnxNode, x: NetworkTensor, y: NetworkTensor): Window {
  const spatial = x.dims.slice(2);
  const s = spatial.length;
  if (s < 1 || spatial.some((d) => d < 0)) throw node.unsupported('the Indices output needs static spatial dims');
  const kernel = node.ints('kernel_shape') ?? [];
  const strides = node.ints('strides') ?? new Array<number>(s).fill(1);
  const dilations = node.ints('dilations') ?? new Array<number>(s).fill(1);
  const pads = node.ints('pads') ?? new Array<number>(2 * s).fill(0);
  if (kernel.length !== s || strides.length !== s || dilations.length !== s || pads.length !== 2 * s) {
    throw node.invalid(`kernel_shape, strides, dilations and pads must match the ${s} spatial dims`);
  }
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw node.unsupported(`the Indices output with auto_pad ${autoPad} is not supported`);
  const padBegin = autoPad === 'VALID' ? new Array<number>(s).fill(0) : pads.slice(0, s);
  const padEnd = autoPad === 'VALID' ? new Array<number>(s).fill(0) : pads.slice(s);
  const out = y.dims.slice(2);
  if (out.length !== s || out.some((o) => o < 1)) throw node.unsupported(`the Indices output needs static output dims, got [${y.dims.join(', ')}]`);
  return { spatial, kernel, strides, dilations, padBegin, padEnd, out };
}

/** Every combination of per-dim counts, row-major. */
function grid(counts: readonly number[]): number[][] {
  let acc: number[][] = [[]];
  for (const c of counts) acc = acc.flatMap((prefix) => Array.from({ length: c }, (_, i) => [...prefix, i]));
  return acc;
}

/** The lowest value of a dtype: what padding must never beat. */
function lowest(dtype: DType): number {
  switch (dtype) {
    case 'int8': return -128;
    case 'uint8':
    case 'bool': return 0;
    case 'int32': return -2147483648;
    case 'int64': return Number.MIN_SAFE_INTEGER;
    default: return -Infinity;
  }
}

/** The Indices output of MaxPool `node` whose values output `y` was computed from `x`. */
export function maxPoolIndices(ctx: ImportContext, node: OnnxNode, x: NetworkTensor, y: NetworkTensor): NetworkTensor {
  const n = ctx.network;
  const w = windowOf(node, x, y);
  const s = w.spatial.length;
  const columnMajor = node.int('storage_order', 0) !== 0;
  // Pad so that every window lies inside (ceil_mode windows may run past the end padding).
  const extra = w.out.map((o, i) => Math.max(0, (o - 1) * w.strides[i]! + (w.kernel[i]! - 1) * w.dilations[i]! + 1 - (w.spatial[i]! + w.padBegin[i]! + w.padEnd[i]!)));
  const padEnd = w.padEnd.map((p, i) => p + extra[i]!);
  const minusInf = ctx.scalar(lowest(x.dtype), x.dtype, node, 'lowest');
  const padded = n.addPad(x, [0, 0, ...w.padBegin, 0, 0, ...padEnd], { value: minusInf, ...ctx.opts(node, 'indices_pad') }).output(0);

  const offsets = grid(w.kernel);
  const axes = Array.from({ length: s }, (_, i) => i + 2);
  const candidates = offsets.map((o, j) => {
    const starts = o.map((k, i) => k * w.dilations[i]!);
    const ends = starts.map((st, i) => st + (w.out[i]! - 1) * w.strides[i]! + 1);
    const slice = n.addSlice(padded, starts, ends, axes, w.strides, ctx.opts(node, `window_${j}`)).output(0);
    return n.addUnsqueeze(slice, [2], ctx.opts(node, `window_${j}_axis`)).output(0);
  });
  const stacked = n.addConcat(candidates, 2, ctx.opts(node, 'windows')).output(0);
  const choice = n.addArgMinMax(stacked, 'argmax', { axis: 2, keepDims: true, ...ctx.opts(node, 'argmax') }).output(0);

  // table[offset][output position] = flat index of the input element it reads (row- or column-major).
  const positions = grid(w.out);
  const table: number[] = [];
  for (const o of offsets) {
    for (const p of positions) {
      const coord = p.map((pi, i) => pi * w.strides[i]! + o[i]! * w.dilations[i]! - w.padBegin[i]!);
      let flat = 0;
      const order = columnMajor ? [...coord.keys()].reverse() : [...coord.keys()];
      for (const i of order) flat = flat * w.spatial[i]! + Math.min(Math.max(coord[i]!, 0), w.spatial[i]! - 1);
      table.push(flat);
    }
  }
  const tableTensor = ctx.int64(table, node, 'index_table', [1, 1, offsets.length, ...w.out]);
  const tableFull = n.addExpand(tableTensor, n.addShape(stacked, ctx.opts(node, 'windows_shape')).output(0), ctx.opts(node, 'index_table_expand')).output(0);
  const local = n.addGatherElements(tableFull, choice, 2, ctx.opts(node, 'local_index')).output(0);
  const spatialIndex = n.addSqueeze(local, [2], ctx.opts(node, 'spatial_index')).output(0);

  // + (n·C + c) · prod(spatial), from the run-time batch and channel counts.
  const nc = n.addShape(x, { start: 0, end: 2, ...ctx.opts(node, 'batch_channels') }).output(0);
  const planes = n.addReduce(nc, 'prod', { axes: [0], keepDims: false, ...ctx.opts(node, 'planes') }).output(0);
  const plane = n.addRange(ctx.scalar(0, 'int64', node, 'plane_start'), planes, ctx.scalar(1, 'int64', node, 'plane_step'), ctx.opts(node, 'plane_ids')).output(0);
  const planeShape = n.addConcat([nc, ctx.int64(new Array<number>(s).fill(1), node, 'plane_ones')], 0, ctx.opts(node, 'plane_shape')).output(0);
  const planeGrid = n.addReshape(plane, planeShape, ctx.opts(node, 'plane_grid')).output(0);
  const planeSize = ctx.scalar(w.spatial.reduce((a, d) => a * d, 1), 'int64', node, 'plane_size');
  const base = n.addElementWise(planeGrid, planeSize, 'mul', ctx.opts(node, 'plane_base')).output(0);
  return n.addElementWise(spatialIndex, base, 'add', ctx.opts(node, 'indices')).output(0);
}

/**
 * Convolution, pooling and normalization (batch in inference form, layer, instance).
 */
import type { AutoPad, NetworkTensor, WindowParams } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { ImporterTable, OpImporter } from '../importer.js';
import type { OnnxNode } from '../node.js';
import { convTransposeImporter } from './conv-transpose.js';
import { maxPoolIndices } from './pool-indices.js';

const autoPads: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/** Convolution / pooling window attributes (auto_pad, kernel_shape, strides, pads, dilations) of `node`. */
export function windowParams(node: OnnxNode): WindowParams {
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (!autoPads.includes(autoPad)) throw node.invalid(`auto_pad must be one of ${autoPads.join(', ')}, got '${autoPad}'`);
  const params: WindowParams = { autoPad: autoPad as AutoPad };
  const kernelShape = node.ints('kernel_shape');
  const strides = node.ints('strides');
  const pads = node.ints('pads');
  const dilations = node.ints('dilations');
  if (kernelShape) params.kernelShape = kernelShape;
  if (strides) params.strides = strides;
  if (pads) params.pads = pads;
  if (dilations) params.dilations = dilations;
  return params;
}

/** Fails when an output the importer does not produce (indices, training statistics) is used. */
function onlyFirstOutput(ctx: ImportContext, node: OnnxNode, what: string): void {
  for (let i = 1; i < node.outputs.length; i++) {
    if (ctx.isConsumed(node.outputs[i]!)) throw node.unsupported(`output ${i} ('${node.outputs[i]}', ${what}) is not supported; only Y is`);
  }
}

function importConv(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'X');
  const w = ctx.required(node, 1, 'W');
  const b = ctx.input(node, 2);
  return ctx.network.addConvolution(x, w, b, { ...windowParams(node), group: node.int('group', 1), ...ctx.opts(node) }).output(0);
}

function pooling(mode: 'max' | 'average'): OpImporter {
  return {
    import: (ctx, node) => {
      if (!node.has('kernel_shape')) throw node.invalid("attribute 'kernel_shape' is required");
      const x = ctx.required(node, 0, 'X');
      const y = ctx.network.addPooling(x, mode, {
        ...windowParams(node),
        ceilMode: node.int('ceil_mode', 0) !== 0,
        countIncludePad: node.int('count_include_pad', 0) !== 0,
        ...ctx.opts(node),
      }).output(0);
      const indicesUsed = mode === 'max' && ctx.isConsumed(node.outputs[1] ?? '');
      return indicesUsed ? [y, maxPoolIndices(ctx, node, x, y)] : [y];
    },
  };
}

function importBatchNorm(ctx: ImportContext, node: OnnxNode): NetworkTensor | Array<NetworkTensor | null> {
  if (node.opset < 9 && node.int('spatial', 1) === 0) throw node.unsupported('spatial=0 (per-element statistics) is not supported');
  const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => ctx.required(node, i, ['X', 'scale', 'B', 'mean', 'var'][i])) as NetworkTensor[];
  const epsilon = node.float('epsilon', 1e-5);
  if (node.int('training_mode', 0) !== 0) return batchNormTraining(ctx, node, x!, scale!, bias!, mean!, variance!, epsilon);
  onlyFirstOutput(ctx, node, 'a training statistic');
  return ctx.network.addBatchNormalization(x!, scale!, bias!, mean!, variance!, { epsilon, ...ctx.opts(node) }).output(0);
}

/**
 * BatchNormalization with training_mode=1 (opset 14+): normalizes with the batch statistics (population
 * variance over every axis but 1) and outputs running_mean/var = input · momentum + batch · (1 - momentum).
 */
function batchNormTraining(ctx: ImportContext, node: OnnxNode, x: NetworkTensor, scale: NetworkTensor, bias: NetworkTensor, mean: NetworkTensor, variance: NetworkTensor, epsilon: number): Array<NetworkTensor | null> {
  const n = ctx.network;
  const axes = x.dims.map((_, i) => i).filter((i) => i !== 1);
  const momentum = node.float('momentum', 0.9);
  const batchMeanKept = n.addReduce(x, 'mean', { axes, keepDims: true, ...ctx.opts(node, 'batch_mean_kept') }).output(0);
  const batchMean = n.addSqueeze(batchMeanKept, axes, ctx.opts(node, 'batch_mean')).output(0);
  const centered = n.addElementWise(x, batchMeanKept, 'sub', ctx.opts(node, 'centered')).output(0);
  const squared = n.addElementWise(centered, centered, 'mul', ctx.opts(node, 'squared')).output(0);
  const batchVar = n.addReduce(squared, 'mean', { axes, keepDims: false, ...ctx.opts(node, 'batch_var') }).output(0);
  const y = n.addBatchNormalization(x, scale, bias, batchMean, batchVar, { epsilon, ...ctx.opts(node) }).output(0);
  const blend = (running: NetworkTensor, batch: NetworkTensor, tag: string): NetworkTensor => {
    const kept = n.addElementWise(running, ctx.scalar(momentum, running.dtype, node, `${tag}_momentum`), 'mul', ctx.opts(node, `${tag}_kept`)).output(0);
    const fresh = n.addElementWise(batch, ctx.scalar(1 - momentum, batch.dtype, node, `${tag}_rate`), 'mul', ctx.opts(node, `${tag}_fresh`)).output(0);
    return n.addElementWise(kept, fresh, 'add', ctx.opts(node, tag)).output(0);
  };
  const wanted = (i: number) => ctx.isConsumed(node.outputs[i] ?? '');
  return [y, wanted(1) ? blend(mean, batchMean, 'running_mean') : null, wanted(2) ? blend(variance, batchVar, 'running_var') : null];
}

function importLayerNorm(ctx: ImportContext, node: OnnxNode): NetworkTensor[] {
  const x = ctx.required(node, 0, 'X');
  const scale = ctx.required(node, 1, 'Scale');
  const axis = node.int('axis', -1);
  const epsilon = node.float('epsilon', 1e-5);
  const y = ctx.network.addLayerNormalization(x, scale, ctx.input(node, 2), { axis, epsilon, ...ctx.opts(node) }).output(0);
  if (!ctx.isConsumed(node.outputs[1] ?? '') && !ctx.isConsumed(node.outputs[2] ?? '')) return [y];
  return [y, ...layerNormStatistics(ctx, node, x, axis, epsilon)];
}

/** LayerNormalization's optional Mean and InvStdDev outputs (over dims [axis, rank), kept as size 1). */
function layerNormStatistics(ctx: ImportContext, node: OnnxNode, x: NetworkTensor, axis: number, epsilon: number): NetworkTensor[] {
  const n = ctx.network;
  const rank = x.dims.length;
  const first = axis < 0 ? axis + rank : axis;
  if (first < 0 || first >= rank) throw node.invalid(`axis ${axis} is out of range for rank ${rank}`);
  const axes = Array.from({ length: rank - first }, (_, i) => first + i);
  // stash_type 1 (the default) computes the statistics in float32.
  const xs = x.dtype === 'float16' && node.int('stash_type', 1) === 1 ? n.addCast(x, 'float32', ctx.opts(node, 'stash')).output(0) : x;
  const mean = n.addReduce(xs, 'mean', { axes, keepDims: true, ...ctx.opts(node, 'mean') }).output(0);
  const diff = n.addElementWise(xs, mean, 'sub', ctx.opts(node, 'centered')).output(0);
  const sq = n.addElementWise(diff, diff, 'mul', ctx.opts(node, 'squared')).output(0);
  const variance = n.addReduce(sq, 'mean', { axes, keepDims: true, ...ctx.opts(node, 'variance') }).output(0);
  const shifted = n.addElementWise(variance, ctx.scalar(epsilon, variance.dtype, node, 'epsilon'), 'add', ctx.opts(node, 'variance_eps')).output(0);
  const std = n.addUnary(shifted, 'sqrt', ctx.opts(node, 'std')).output(0);
  return [mean, n.addUnary(std, 'reciprocal', ctx.opts(node, 'inv_std')).output(0)];
}

/** MeanVarianceNormalization (ONNX's function body): (X - E[X]) / (sqrt(E[X²] - E[X]²) + 1e-9) over `axes`. */
function importMeanVarianceNorm(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'X');
  const axes = node.ints('axes', [0, 2, 3]);
  const n = ctx.network;
  const mean = n.addReduce(x, 'mean', { axes, keepDims: true, ...ctx.opts(node, 'mean') }).output(0);
  const meanSq = n.addElementWise(mean, mean, 'mul', ctx.opts(node, 'mean_squared')).output(0);
  const sq = n.addElementWise(x, x, 'mul', ctx.opts(node, 'squared')).output(0);
  const sqMean = n.addReduce(sq, 'mean', { axes, keepDims: true, ...ctx.opts(node, 'squared_mean') }).output(0);
  const variance = n.addElementWise(sqMean, meanSq, 'sub', ctx.opts(node, 'variance')).output(0);
  const std = n.addUnary(variance, 'sqrt', ctx.opts(node, 'std')).output(0);
  const denom = n.addElementWise(std, ctx.scalar(1e-9, x.dtype, node, 'epsilon'), 'add', ctx.opts(node, 'std_eps')).output(0);
  const centered = n.addElementWise(x, mean, 'sub', ctx.opts(node, 'centered')).output(0);
  return n.addElementWise(centered, denom, 'div', ctx.opts(node)).output(0);
}

/**
 * LRN across channels: x / (bias + alpha/size · Σ x² over a window of `size` channels)^beta. The windowed sum is
 * an average pooling (kernel size × 1, zero padding counted) over x² viewed as [N, 1, C, rest].
 */
function importLrn(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'X');
  const size = node.int('size');
  if (size === undefined || size < 1) throw node.invalid("attribute 'size' must be a positive integer");
  const channels = x.dims[1];
  if (x.dims.length < 3 || channels === undefined || channels < 0) throw node.unsupported(`X must be [N, C, ...] with a static C, got [${x.dims.join(', ')}]`);
  const n = ctx.network;
  const squared = n.addElementWise(x, x, 'mul', ctx.opts(node, 'squared')).output(0);
  const view = n.addReshape(squared, [0, 1, channels, -1], ctx.opts(node, 'channel_rows')).output(0);
  const before = Math.floor((size - 1) / 2);
  const window = n.addPooling(view, 'average', { kernelShape: [size, 1], pads: [before, 0, size - 1 - before, 0], countIncludePad: true, ...ctx.opts(node, 'window_mean') }).output(0);
  const mean = n.addReshape(window, n.addShape(x, ctx.opts(node, 'shape')).output(0), ctx.opts(node, 'window_mean_nchw')).output(0);
  const scaled = n.addElementWise(mean, ctx.scalar(node.float('alpha', 1e-4), x.dtype, node, 'alpha'), 'mul', ctx.opts(node, 'scaled')).output(0);
  const base = n.addElementWise(scaled, ctx.scalar(node.float('bias', 1), x.dtype, node, 'bias'), 'add', ctx.opts(node, 'base')).output(0);
  const denom = n.addElementWise(base, ctx.scalar(node.float('beta', 0.75), x.dtype, node, 'beta'), 'pow', ctx.opts(node, 'denominator')).output(0);
  return n.addElementWise(x, denom, 'div', ctx.opts(node)).output(0);
}

export const nnImporters: ImporterTable = {
  Conv: { import: importConv },
  ConvTranspose: convTransposeImporter,
  LRN: { import: importLrn },
  MaxPool: pooling('max'),
  AveragePool: pooling('average'),
  GlobalAveragePool: { import: (ctx, node) => ctx.network.addPooling(ctx.required(node, 0, 'X'), 'global_average', ctx.opts(node)).output(0) },
  GlobalMaxPool: { import: (ctx, node) => ctx.network.addPooling(ctx.required(node, 0, 'X'), 'global_max', ctx.opts(node)).output(0) },
  BatchNormalization: { import: importBatchNorm },
  LayerNormalization: { minOpset: 17, import: importLayerNorm },
  MeanVarianceNormalization: { minOpset: 9, import: importMeanVarianceNorm },
  InstanceNormalization: {
    import: (ctx, node) =>
      ctx.network.addInstanceNormalization(ctx.required(node, 0, 'input'), ctx.required(node, 1, 'scale'), ctx.required(node, 2, 'B'), {
        epsilon: node.float('epsilon', 1e-5),
        ...ctx.opts(node),
      }).output(0),
  },
};

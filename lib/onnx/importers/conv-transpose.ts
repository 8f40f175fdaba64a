/**
 * ConvTranspose as an ordinary convolution, built from existing layers (no new IR kind, so every backend runs
 * it with its convolution kernel):
 *   1. zeros inserted between input elements (stride - 1 per gap): unsqueeze after each spatial dim, pad that
 *      new dim to the stride, merge it back, drop the trailing zeros;
 *   2. each spatial dim padded by dilation·(k-1) minus ONNX's pads (cropped where that is negative), plus
 *      output_padding at the end;
 *   3. a stride-1 convolution with the weights flipped spatially and their in/out channels swapped per group.
 */
import type { NetworkTensor } from '../../network.js';
import type { ImportContext } from '../context.js';
import type { OpImporter } from '../importer.js';
import type { OnnxNode } from '../node.js';

/** Begin/end pads of each spatial dim as ONNX defines them, from explicit pads, output_shape or auto_pad. */
function onnxPads(node: OnnxNode, x: NetworkTensor, geometry: { k: number[]; s: number[]; d: number[]; outPad: number[] }): { begin: number[]; end: number[] } {
  const rank = geometry.k.length;
  const autoPad = node.string('auto_pad', 'NOTSET');
  let outputShape = node.ints('output_shape');
  if (!outputShape && autoPad === 'NOTSET') {
    const pads = node.ints('pads', new Array<number>(2 * rank).fill(0));
    if (pads.length !== 2 * rank) throw node.invalid(`pads must have ${2 * rank} values, got ${pads.length}`);
    return { begin: pads.slice(0, rank), end: pads.slice(rank) };
  }
  if (autoPad === 'VALID') return { begin: new Array<number>(rank).fill(0), end: new Array<number>(rank).fill(0) };
  const spatial = x.dims.slice(2);
  if (spatial.some((v) => v < 0)) throw node.unsupported('output_shape or auto_pad needs static spatial input dims');
  if (outputShape && outputShape.length === rank + 2) outputShape = outputShape.slice(2);
  if (outputShape && outputShape.length !== rank) throw node.invalid(`output_shape must have ${rank} spatial values, got ${outputShape.length}`);
  const target = outputShape ?? spatial.map((v, i) => v * geometry.s[i]!);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < rank; i++) {
    const { k, s, d, outPad } = { k: geometry.k[i]!, s: geometry.s[i]!, d: geometry.d[i]!, outPad: geometry.outPad[i]! };
    const total = s * (spatial[i]! - 1) + outPad + (k - 1) * d + 1 - target[i]!;
    // The ONNX spec's split: SAME_UPPER puts an odd pad's extra unit at the end, anything else at the begin.
    const half = Math.floor(total / 2);
    if (autoPad === 'SAME_UPPER') begin.push(half), end.push(total - half);
    else begin.push(total - half), end.push(half);
  }
  return { begin, end };
}

/** x with stride-1 zeros inserted between elements along each spatial dim. */
function insertZeros(ctx: ImportContext, node: OnnxNode, x: NetworkTensor, strides: number[]): NetworkTensor {
  if (strides.every((s) => s === 1)) return x;
  const n = ctx.network;
  const rank = strides.length;
  const axes = strides.map((_, i) => 3 + 2 * i);  // a new dim after each spatial dim
  const split = n.addUnsqueeze(x, axes, ctx.opts(node, 'stride_dims')).output(0);
  const pads = new Array<number>(2 * (2 + 2 * rank)).fill(0);
  strides.forEach((s, i) => (pads[2 + 2 * rank + axes[i]!] = s - 1));
  const spread = n.addPad(split, pads, ctx.opts(node, 'stride_zeros')).output(0);
  const target = n.addElementWise(n.addShape(x, ctx.opts(node, 'input_shape')).output(0), ctx.int64([1, 1, ...strides], node, 'stride_scale'), 'mul', ctx.opts(node, 'upsampled_shape')).output(0);
  const merged = n.addReshape(spread, target, ctx.opts(node, 'upsampled')).output(0);
  const spatialAxes = strides.map((_, i) => 2 + i);
  return n.addSlice(merged, strides.map(() => 0), strides.map((s) => (s > 1 ? 1 - s : Number.MAX_SAFE_INTEGER)), spatialAxes, null, ctx.opts(node, 'trim_zeros')).output(0);
}

/** Pads (or, where negative, crops) each spatial dim by begin[i] / end[i]. */
function padOrCrop(ctx: ImportContext, node: OnnxNode, x: NetworkTensor, begin: number[], end: number[]): NetworkTensor {
  const n = ctx.network;
  let y = x;
  if ([...begin, ...end].some((p) => p > 0)) {
    const pads = [0, 0, ...begin.map((p) => Math.max(p, 0)), 0, 0, ...end.map((p) => Math.max(p, 0))];
    y = n.addPad(y, pads, ctx.opts(node, 'kernel_pad')).output(0);
  }
  if ([...begin, ...end].some((p) => p < 0)) {
    const axes = begin.map((_, i) => 2 + i);
    const starts = begin.map((p) => Math.max(-p, 0));
    const ends = end.map((p) => (p < 0 ? p : Number.MAX_SAFE_INTEGER));
    y = n.addSlice(y, starts, ends, axes, null, ctx.opts(node, 'crop')).output(0);
  }
  return y;
}

/** W [C, M/g, k...] → the equivalent convolution's [M, C/g, k...], flipped spatially. */
function convWeights(ctx: ImportContext, node: OnnxNode, w: NetworkTensor, group: number): NetworkTensor {
  const n = ctx.network;
  const [c, mPerGroup, ...k] = w.dims;
  if ([c, mPerGroup, ...k].some((v) => v === undefined || v < 0)) throw node.unsupported(`weights W need static dims, got [${w.dims.join(', ')}]`);
  if (c! % group !== 0) throw node.invalid(`W's first dim (${c}) must be divisible by group (${group})`);
  const grouped = n.addReshape(w, [group, c! / group, mPerGroup!, ...k], ctx.opts(node, 'w_groups')).output(0);
  const swapped = n.addTranspose(grouped, [0, 2, 1, ...k.map((_, i) => 3 + i)], ctx.opts(node, 'w_swap')).output(0);
  const merged = n.addReshape(swapped, [group * mPerGroup!, c! / group, ...k], ctx.opts(node, 'w_merge')).output(0);
  const axes = k.map((_, i) => 2 + i);
  return n.addSlice(merged, k.map(() => -1), k.map(() => -Number.MAX_SAFE_INTEGER), axes, k.map(() => -1), ctx.opts(node, 'w_flip')).output(0);
}

function importConvTranspose(ctx: ImportContext, node: OnnxNode): NetworkTensor {
  const x = ctx.required(node, 0, 'X');
  const w = ctx.required(node, 1, 'W');
  const b = ctx.input(node, 2);
  const rank = w.dims.length - 2;
  if (rank < 1 || x.dims.length !== rank + 2) throw node.invalid(`X [${x.dims.join(', ')}] and W [${w.dims.join(', ')}] must both have 2 + spatial dims`);
  const group = node.int('group', 1);
  const k = node.ints('kernel_shape', w.dims.slice(2));
  const ones = new Array<number>(rank).fill(1);
  const geometry = { k, s: node.ints('strides', ones), d: node.ints('dilations', ones), outPad: node.ints('output_padding', new Array<number>(rank).fill(0)) };
  for (const [name, v] of Object.entries(geometry)) {
    if (v.length !== rank) throw node.invalid(`${name} must have ${rank} values, got ${v.length}`);
  }
  const pads = onnxPads(node, x, geometry);
  const upsampled = insertZeros(ctx, node, x, geometry.s);
  const begin = k.map((kk, i) => geometry.d[i]! * (kk - 1) - pads.begin[i]!);
  const end = k.map((kk, i) => geometry.d[i]! * (kk - 1) - pads.end[i]! + geometry.outPad[i]!);
  const padded = padOrCrop(ctx, node, upsampled, begin, end);
  return ctx.network.addConvolution(padded, convWeights(ctx, node, w, group), b, { dilations: geometry.d, group, ...ctx.opts(node) }).output(0);
}

export const convTransposeImporter: OpImporter = { import: importConvTranspose };

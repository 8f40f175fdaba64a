/**
 * GPU suite, INT8 layers on CUDA vs the CPU reference kernels: small networks built with the network API and
 * calibrated (MinMaxCalibrator) into QuantizeLinear -> QuantizedMatMul / QuantizedConvolution, on both backends,
 * must give the same float32 outputs bit for bit. The INT8 layers sum int8 products exactly in int32 (cuBLASLt's
 * int8 GEMM on CUDA) and dequantize with the same fp32 steps, so there is no tolerance: a last-bit difference is
 * a bug. One calibrator serves both builds of a case (it keeps the scales of its first run), so both engines
 * quantize with the same scales. Inference feeds are 1.5x the calibration batch, so some values saturate.
 *
 * Cases: MatMul with K a multiple of 4 and not (zero-padded), N not a multiple of 4, a batched 3-D input, bias +
 * relu, bias + exact GELU; convolutions 3x3 pad 1, stride 2, dilation 2, groups 2, depthwise, 1x1, asymmetric
 * SAME_UPPER pads, 1-D and 3-D, with bias, relu and a residual (Conv -> Add -> Relu, fused into one Convolution
 * before the INT8 pass), C not a multiple of 4; and fp16 + int8 engines where QuantizeLinear reads a tensor an fp16
 * layer stored and fp16 layers read the INT8 layers' float32 outputs (the CPU emulates fp16 by rounding what fp16
 * layers read and write, the CUDA engine converts at those boundaries: the same roundings, so again bit for bit).
 * Channels-last convolutions (fp16 engines, or channelsLast forced; C and M multiples of 16) and fp16-output MatMuls
 * with K and N multiples of 16 run through one cuDNN graph whose fused epilogue may round a multiply-add once: within
 * 1 fp16 ulp (3 with cuDNN's GELU), or 1e-6 relative for fp32 outputs; where such a layer writes int8 for the next
 * one, a value may land one quantization step away; so may a layer norm's or an attention layer's int8 values
 * (their float arithmetic differs from the CPU's by ulps).
 * Every layer must run on the GPU. Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import { describe, expect, it } from 'vitest';
import {
  Builder, MinMaxCalibrator, Runtime, fromFloat16Bits, tensor, type BuilderConfigOptions, type ConvolutionParams, type Engine,
  type NetworkDefinition, type NetworkTensor, type Tensor,
} from '../../lib/index.js';
import { randomFloats } from '../api/helpers.js';
import { cudaSkipReason, describeFallback, fallbackLayers, reportSkipped } from './helpers.js';

const numel = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  /** The network's float32 inputs and their dims. */
  inputs: Record<string, number[]>;
  define: (n: NetworkDefinition, inputs: Record<string, NetworkTensor>) => void;
  /** The INT8 layers the engine must have, in order. */
  int8: string[];
  /** A build-log line the case relies on (a fusion). */
  log?: RegExp;
  /** Layers that must run in fp16 (fp16 + int8 cases): [kind, count]. */
  fp16?: [string, number];
  precision?: BuilderConfigOptions['precision'];
  /** fp16 GELU outputs: CUDA's float erf may differ from the CPU's double one by this many fp16 ulps. */
  halfUlps?: number;
  /** The builder's channelsLast option for both builds (default 'auto': CUDA fp16 engines only). */
  channelsLast?: boolean;
  /** Whether the CUDA engine's QuantizedConvolution runs channels-last (cuDNN's graph API, not bit for bit). */
  nhwc?: boolean;
  /** fp32 outputs of the channels-last path: cuDNN may fuse a multiply-add, so within this relative error. */
  relativeError?: number;
  /**
   * An int8 intermediate (output_scale): where cuDNN's rounding moves a value across a quantization boundary, the
   * outputs of the positions that read it (up to 9 x 16 of them; a GEMM row's) move by a step. At most 10% of the outputs may
   * differ by more than 1 fp16 ulp, each by less than 5% of the largest output.
   */
  int8Intermediate?: true | 'residual';
  /** The build log's count of INT8 layers writing int8 outputs (default: one channels-last convolution). */
  int8Writers?: string;
  /** With int8Intermediate: the share of outputs that may move beyond 1 fp16 ulp (default 0.1). */
  int8MovedShare?: number;
  /** The GEMM hands its exact GELU to the QuantizeLinear after it (the build log says so; that QuantizeLinear stays). */
  geluHandoff?: true;
}

function weights(n: NetworkDefinition, dims: number[], seed: number, fanIn: number): NetworkTensor {
  const scale = 1 / Math.sqrt(fanIn);  // keeps outputs near unit size
  return n.addConstant(dims, randomFloats(numel(dims), seed).map((v) => v * scale));
}

/**
 * BERT's self-attention on x [B, S, 64], 2 heads of 32: Q, K, V projections (weights seeded `seed`..`seed + 2`) ->
 * heads -> softmax(q kᵀ / √32) v -> merged heads -> output projection (seed + 3) -> 'y'; with exposeMerged the merged
 * heads are an output too ('context', which keeps their QuantizeLinear).
 */
function defineSelfAttention(n: NetworkDefinition, x: NetworkTensor, seed: number, exposeMerged: boolean): void {
  const heads = (t: NetworkTensor) => n.addTranspose(n.addReshape(t, [0, 0, 2, 32]).output(), [0, 2, 1, 3]).output();
  const [q, k, v] = [seed, seed + 1, seed + 2].map((s) => heads(n.addMatrixMultiply(x, weights(n, [64, 64], s, 64)).output()));
  const scores = n.addMatrixMultiply(q!, k!, { transposeB: true, alpha: 1 / Math.sqrt(32) }).output();
  const context = n.addMatrixMultiply(n.addSoftmax(scores, { axis: -1 }).output(), v!).output();
  const merged = n.addReshape(n.addTranspose(context, [0, 2, 1, 3]).output(), [0, 0, 64]).output();
  n.markOutput(n.addMatrixMultiply(merged, weights(n, [64, 64], seed + 3, 64)).output(), 'y');
  if (exposeMerged) n.markOutput(merged, 'context');
}

/** x [..., K] -> MatMul(W [K, N]) [+ bias] [-> act] -> 'y'. */
function matmulCase(name: string, xDims: number[], nOut: number, opts: { bias?: boolean; act?: 'relu' | 'gelu'; log?: RegExp }): Case {
  const k = xDims[xDims.length - 1]!;
  return {
    name,
    inputs: { x: xDims },
    define: (n, { x }) => {
      let y = n.addMatrixMultiply(x!, weights(n, [k, nOut], 11, k)).output();
      if (opts.bias) y = n.addElementWise(y, n.addConstant([nOut], randomFloats(nOut, 12).map((v) => v * 0.3)), 'add').output();
      if (opts.act) y = n.addActivation(y, opts.act).output();
      n.markOutput(y, 'y');
    },
    int8: ['QuantizedMatMul'],
    log: opts.log,
  };
}

/** Output dims of a convolution of x with `kernel` and `p` (explicit pads or SAME_UPPER). */
function convOutDims(xDims: number[], m: number, kernel: number[], p: ConvolutionParams): number[] {
  const spatial = xDims.slice(2).map((d, i) => {
    const s = p.strides?.[i] ?? 1;
    if (p.autoPad === 'SAME_UPPER') return Math.ceil(d / s);
    const pad = (p.pads?.[i] ?? 0) + (p.pads?.[i + kernel.length] ?? 0);
    const extent = (p.dilations?.[i] ?? 1) * (kernel[i]! - 1) + 1;
    return Math.floor((d + pad - extent) / s) + 1;
  });
  return [xDims[0]!, m, ...spatial];
}

/** x -> Convolution [+ bias] [-> Add(r)] [-> relu] -> 'y'. */
function convCase(name: string, xDims: number[], m: number, kernel: number[], p: ConvolutionParams,
  opts: { bias?: boolean; relu?: boolean; residual?: boolean }): Case {
  const group = p.group ?? 1;
  const wDims = [m, xDims[1]! / group, ...kernel];
  const outDims = convOutDims(xDims, m, kernel, p);
  const fused = opts.residual ? (opts.relu ? /Conv\+add\+ReLU/ : /Conv\+add\b/) : opts.relu ? /Conv\+ReLU/ : undefined;
  return {
    name,
    inputs: opts.residual ? { x: xDims, r: outDims } : { x: xDims },
    define: (n, { x, r }) => {
      const b = opts.bias ? n.addConstant([m], randomFloats(m, 22).map((v) => v * 0.3)) : null;
      let y = n.addConvolution(x!, weights(n, wDims, 21, numel(wDims.slice(1))), b, p).output();
      if (opts.residual) y = n.addElementWise(y, r!, 'add').output();
      if (opts.relu) y = n.addActivation(y, 'relu').output();
      n.markOutput(y, 'y');
    },
    int8: ['QuantizedConvolution'],
    log: fused,
  };
}

const cases: Case[] = [
  matmulCase('MatMul K = 24 (a multiple of 4) + bias + relu', [6, 24], 10, { bias: true, act: 'relu' }),
  matmulCase('MatMul K = 30 (zero-padded to 32), N = 9, no bias', [5, 30], 9, {}),
  matmulCase('MatMul batched 3-D input [2, 5, 24] + bias + relu', [2, 5, 24], 12, { bias: true, act: 'relu' }),
  matmulCase('MatMul K = 20, N = 7 + bias + exact GELU', [4, 20], 7, { bias: true, act: 'gelu', log: /1 with GELU/ }),
  convCase('Conv 3x3 pad 1 + bias + relu, C = 3', [2, 3, 7, 6], 5, [3, 3], { pads: [1, 1, 1, 1] }, { bias: true, relu: true }),
  convCase('Conv 3x3 stride 2 + bias', [2, 4, 9, 9], 8, [3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }, { bias: true }),
  convCase('Conv 3x3 dilation 2 + relu, no bias, C = 6', [1, 6, 10, 10], 4, [3, 3], { pads: [2, 2, 2, 2], dilations: [2, 2] }, { relu: true }),
  convCase('Conv 3x3 groups 2 + bias', [2, 8, 6, 6], 6, [3, 3], { pads: [1, 1, 1, 1], group: 2 }, { bias: true }),
  convCase('Conv depthwise 3x3 (group = C = 8) + bias + relu', [2, 8, 6, 6], 8, [3, 3], { pads: [1, 1, 1, 1], group: 8 }, { bias: true, relu: true }),
  convCase('Conv 1x1 + bias + relu', [3, 16, 5, 5], 12, [1, 1], {}, { bias: true, relu: true }),
  convCase('Conv 3x3 + bias + residual + relu', [2, 8, 6, 6], 8, [3, 3], { pads: [1, 1, 1, 1] }, { bias: true, residual: true, relu: true }),
  convCase('Conv 1x1 + residual, no bias', [2, 6, 4, 4], 6, [1, 1], {}, { residual: true }),
  convCase('Conv 2x2 SAME_UPPER (asymmetric pads) + bias', [1, 3, 8, 7], 4, [2, 2], { autoPad: 'SAME_UPPER' }, { bias: true }),
  convCase('Conv 1-D k = 5 + bias + relu', [2, 5, 20], 6, [5], { pads: [2, 2] }, { bias: true, relu: true }),
  convCase('Conv 3-D 3x3x3 + bias', [1, 4, 4, 5, 5], 4, [3, 3, 3], { pads: [1, 1, 1, 1, 1, 1] }, { bias: true }),
  {
    // K and N multiples of 16, fp16 output: cuDNN's fused 1x1 int8 graph, whose erf GELU is its own (2.3 fp16 ulps
    // on the probe, bench/probes/cudnn-int8-matmul.cc).
    ...matmulCase('fp16 + int8: MatMul K = 64, N = 32 + bias + exact GELU, fp16 output (cuDNN)', [8, 64], 32, { bias: true, act: 'gelu', log: /1 with GELU/ }),
    precision: ['fp16', 'int8'],
    halfUlps: 3,
  },
  {
    ...matmulCase('fp16 + int8: MatMul batched [2, 8, 64], N = 48 + bias + relu, fp16 output (cuDNN)', [2, 8, 64], 48, { bias: true, act: 'relu' }),
    precision: ['fp16', 'int8'],
    halfUlps: 1,
  },
  ...[{ k2: 128, act: 'gelu' as const, exposeH: false }, { k2: 48, act: 'relu' as const, exposeH: true }].map(({ k2, act, exposeH }): Case => ({
    // BERT's FFN. relu: the first GEMM writes int8 for the second (output_scale), its QuantizeLinear dropped; with h
    // an output too, h (fp16) and its int8 values, both from cuDNN's graph. Exact GELU: the first GEMM writes the
    // fp16 pre-activation (cuDNN's may differ from the CPU's by an fp16 ulp) and the QuantizeLinear applies GELU
    // (the builder's handoff).
    name: act === 'gelu'
      ? `fp16 + int8: MatMul 64 -> ${k2} + bias, exact GELU handed to the QuantizeLinear -> MatMul ${k2} -> 32 (cuDNN)`
      : `fp16 + int8: MatMul 64 -> ${k2} + bias + ${act} writing int8${exposeH ? ' beside h' : ''} -> MatMul ${k2} -> 32 (cuDNN)`,
    inputs: { x: [64, 64] },  // a moved int8 value of h moves the 32 outputs of its row: 1.6% of them
    define: (n, { x }) => {
      const b = n.addConstant([k2], randomFloats(k2, 72).map((v) => v * 0.3));
      const h = n.addActivation(n.addElementWise(n.addMatrixMultiply(x!, weights(n, [64, k2], 71, 64)).output(), b, 'add').output(), act).output();
      n.markOutput(n.addMatrixMultiply(h, weights(n, [k2, 32], 73, k2)).output(), 'y');
      if (exposeH) n.markOutput(h, 'h');
    },
    int8: ['QuantizedMatMul', 'QuantizedMatMul'],
    precision: ['fp16', 'int8'],
    ...(act === 'gelu' ? { geluHandoff: true as const } : { int8Writers: '1 fp16-engine GEMM' }),
    int8Intermediate: true,
  })),
  ...(['fp16 + int8', 'int8'] as const).map((label): Case => ({
    // BERT's layer norm: it writes h's int8 values for the next GEMM beside h, which the residual Add reads (its
    // QuantizeLinear dropped). The CPU's statistics are in double, CUDA's fp16 rows' in float: h may differ by an
    // ulp, and an int8 value by a step.
    name: `${label}: MatMul 64 -> 64 + bias + x -> LayerNorm writing int8 beside h -> MatMul 64 -> 64 + h`,
    inputs: { x: [64, 64] },
    define: (n, { x }) => {
      const b = n.addConstant([64], randomFloats(64, 75).map((v) => v * 0.3));
      const t = n.addElementWise(n.addElementWise(n.addMatrixMultiply(x!, weights(n, [64, 64], 74, 64)).output(), b, 'add').output(), x!, 'add').output();
      const gamma = n.addConstant([64], randomFloats(64, 76).map((v) => 1 + 0.2 * v));
      const h = n.addLayerNormalization(t, gamma, n.addConstant([64], randomFloats(64, 77).map((v) => v * 0.1))).output();
      n.markOutput(n.addElementWise(n.addMatrixMultiply(h, weights(n, [64, 64], 78, 64)).output(), h, 'add').output(), 'y');
    },
    int8: ['QuantizedMatMul', 'QuantizedMatMul'],
    precision: label === 'int8' ? ['int8'] : ['fp16', 'int8'],
    int8Writers: '1 layer normalization',
    int8Intermediate: true,
  })),
  ...(['fp16 + int8', 'int8'] as const).map((label): Case => ({
    // BERT's self-attention: the fused attention writes the merged heads' int8 values for the output projection
    // (its QuantizeLinear dropped; the Reshape merging the heads moves int8). fp16: the tensor-core path quantizes
    // in its stores; fp32 (int8 only): the generic path, then a quantize pass.
    name: `${label}: Q, K, V projections -> attention writing int8 -> merged heads -> output projection`,
    inputs: { x: [2, 16, 64] },
    define: (n, { x }) => defineSelfAttention(n, x!, 81, false),
    int8: ['QuantizedMatMul', 'QuantizedMatMul', 'QuantizedMatMul', 'QuantizedMatMul'],
    precision: label === 'int8' ? ['int8'] : ['fp16', 'int8'],
    int8Writers: '1 attention layer',
    int8Intermediate: true,
    // fp16: CUDA rounds the probabilities to fp16 before P·V (as flash attention does), so its merged heads differ
    // from the CPU's by more than an ulp and many of their int8 values move a step (36% of the outputs beyond an ulp,
    // by 0.3% of the largest at most, on an H200). Quantizing in the attention's stores is checked bit for bit
    // against the unfused CUDA engine below.
    int8MovedShare: label === 'int8' ? 0.1 : 0.6,
  })),
  {
    // QuantizeLinear reads h, which the fp16 Add stored as fp16; the fp16 Add after it reads the INT8 layer's
    // float32 output (a float32 -> fp16 conversion on CUDA).
    name: 'fp16 + int8: Add (fp16) -> QuantizedMatMul + bias + relu -> Add (fp16)',
    inputs: { x: [6, 24], r: [6, 24], s: [6, 10] },
    define: (n, { x, r, s }) => {
      const h = n.addElementWise(x!, r!, 'add').output();
      let y = n.addMatrixMultiply(h, weights(n, [24, 10], 31, 24)).output();
      y = n.addActivation(n.addElementWise(y, n.addConstant([10], randomFloats(10, 32)), 'add').output(), 'relu').output();
      n.markOutput(n.addElementWise(y, s!, 'add').output(), 'y');
    },
    int8: ['QuantizedMatMul'],
    fp16: ['ElementWise', 2],
    precision: ['fp16', 'int8'],
  },
  {
    // C = 16 (fewer channels stay fp16 in fp16 builds) and M = 8 (not a multiple of 16): NCHW, bit for bit.
    name: 'fp16 + int8: relu (fp16) -> QuantizedConvolution 3x3 + bias + relu -> max pool (fp16)',
    inputs: { x: [2, 16, 8, 8] },
    define: (n, { x }) => {
      const h = n.addActivation(x!, 'relu').output();
      const b = n.addConstant([8], randomFloats(8, 42).map((v) => v * 0.3));
      const y = n.addActivation(n.addConvolution(h, weights(n, [8, 16, 3, 3], 41, 144), b, { pads: [1, 1, 1, 1] }).output(), 'relu').output();
      n.markOutput(n.addPooling(y, 'max', { kernelShape: [2, 2], strides: [2, 2] }).output(), 'y');
    },
    int8: ['QuantizedConvolution'],
    fp16: ['Activation', 1],
    precision: ['fp16', 'int8'],
    nhwc: false,
  },
  {
    ...convCase('fp16 + int8: channels-last Conv 3x3 (C = M = 16) + bias + residual + relu, fp16 output', [2, 16, 7, 6], 16, [3, 3], { pads: [1, 1, 1, 1] }, { bias: true, residual: true, relu: true }),
    precision: ['fp16', 'int8'],
    nhwc: true,
    halfUlps: 1,
  },
  {
    ...convCase('fp16 + int8: channels-last Conv 1x1 stride 2 (C = 32, M = 64) + bias, fp16 output', [3, 32, 9, 9], 64, [1, 1], { strides: [2, 2] }, { bias: true }),
    precision: ['fp16', 'int8'],
    nhwc: true,
    halfUlps: 1,
  },
  {
    ...convCase('int8, channelsLast forced: Conv 3x3 stride 2 (C = M = 16) + relu, no bias, fp32 output', [2, 16, 9, 8], 16, [3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] }, { relu: true }),
    channelsLast: true,
    nhwc: true,
    relativeError: 1e-6,
  },
  {
    // The first convolution writes int8 for the second (output_scale, its QuantizeLinear dropped): channelsLast on
    // both builds, so the CPU engine has the same layers.
    name: 'fp16 + int8, channelsLast forced: Conv 3x3 + bias + relu (C = M = 16) writing int8 -> Conv 1x1 (M = 32)',
    inputs: { x: [2, 16, 8, 7] },
    define: (n, { x }) => {
      const b = n.addConstant([16], randomFloats(16, 52).map((v) => v * 0.3));
      const h = n.addActivation(n.addConvolution(x!, weights(n, [16, 16, 3, 3], 51, 144), b, { pads: [1, 1, 1, 1] }).output(), 'relu').output();
      n.markOutput(n.addConvolution(h, weights(n, [32, 16, 1, 1], 53, 16), null, {}).output(), 'y');
    },
    int8: ['QuantizedConvolution', 'QuantizedConvolution'],
    precision: ['fp16', 'int8'],
    channelsLast: true,
    nhwc: true,
    log: /Conv\+ReLU/,
    int8Intermediate: true,
  },
  ...[false, true].map((exposeH): Case => ({
    // h = relu(conv(x)); y = relu(conv(h) + h). With h a network output the first convolution writes h (fp16) and
    // h's int8 values (a second output), and the second reads h as its fp16-stored residual; without, it writes only
    // the int8 values, and the second reads them as its residual too (residual_scale).
    name: `fp16 + int8, channelsLast forced: a residual block, ${exposeH ? 'h an output: fp16 and int8 outputs' : 'an int8 residual'}`,
    inputs: { x: [2, 16, 8, 7] },
    define: (n, { x }) => {
      const b = n.addConstant([16], randomFloats(16, 62).map((v) => v * 0.3));
      const h = n.addActivation(n.addConvolution(x!, weights(n, [16, 16, 3, 3], 61, 144), b, { pads: [1, 1, 1, 1] }).output(), 'relu').output();
      const c2 = n.addConvolution(h, weights(n, [16, 16, 3, 3], 63, 144), null, { pads: [1, 1, 1, 1] }).output();
      n.markOutput(n.addActivation(n.addElementWise(c2, h, 'add').output(), 'relu').output(), 'y');
      if (exposeH) n.markOutput(h, 'h');
    },
    int8: ['QuantizedConvolution', 'QuantizedConvolution'],
    precision: ['fp16', 'int8'],
    channelsLast: true,
    nhwc: true,
    log: /Conv\+add\+ReLU/,
    int8Intermediate: exposeH ? true : 'residual',
  })),
];

async function load(c: Case, backend: 'cpu' | 'cuda', calibrator: MinMaxCalibrator): Promise<{ engine: Engine; log: string[] }> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([name, dims]) => [name, network.addInput(name, 'float32', dims)]));
  c.define(network, inputs);
  const channelsLast = c.channelsLast === undefined ? {} : { channelsLast: c.channelsLast };
  const plan = await builder.build(network, builder.createConfig({ precision: c.precision ?? ['int8'], int8Calibrator: calibrator, ...channelsLast }));
  return { engine: await Runtime.load(plan), log: [...plan.buildLog] };
}

async function run(engine: Engine, feeds: Record<string, Tensor>): Promise<Float32Array> {
  using ctx = engine.createContext();
  return (await ctx.infer(feeds)).y!.data as Float32Array;
}

/** Null when `actual` has `expected`'s float32 bit patterns element for element, else the first difference. */
function bitDifference(expected: Float32Array, actual: Float32Array): string | null {
  if (expected.length !== actual.length) return `${actual.length} elements, expected ${expected.length}`;
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  let count = 0;
  let first = -1;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === a[i]) continue;
    count++;
    if (first < 0) first = i;
  }
  return count === 0 ? null : `${count} of ${e.length} elements differ; first at ${first}: ${actual[first]} (CUDA) vs ${expected[first]} (CPU)`;
}

/** Null when every element is within `bound` of the expected value, relative (absolute below 1), else what differs. */
function relativeDifference(expected: Float32Array, actual: Float32Array, bound: number): string | null {
  let count = 0, worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(err <= bound)) count++;
    if (err > worst || Number.isNaN(err)) worst = err;
  }
  return count === 0 ? null : `${count} of ${expected.length} elements differ by more than ${bound} (worst ${worst})`;
}

/** int8Steps's counts in words. */
function int8StepSummary({ beyondUlp, worst, largest }: ReturnType<typeof int8Steps>, length: number): string {
  return `${beyondUlp} of ${length} elements beyond 1 fp16 ulp, worst ${worst} (largest output ${largest})`;
}

function int8Steps(expected: Float32Array, actual: Float32Array): { beyondUlp: number; worst: number; largest: number } {
  const largest = Math.max(...Array.from(expected, Math.abs));
  let beyondUlp = 0, worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
    if (halfUlpDifference(expected.subarray(i, i + 1), actual.subarray(i, i + 1), 1) !== null) beyondUlp++;
  }
  return { beyondUlp, worst, largest };
}

/** Null when at most `share` of the elements differ by more than 1 fp16 ulp, each by under 5% of max |expected|. */
function int8StepDifference(steps: ReturnType<typeof int8Steps>, length: number, share = 0.1): string | null {
  if (steps.beyondUlp <= length * share && steps.worst < 0.05 * steps.largest) return null;
  return int8StepSummary(steps, length);
}

/** Null when every element is within `ulps` fp16 ulps (of the expected value's binade), else what differs. */
function halfUlpDifference(expected: Float32Array, actual: Float32Array, ulps: number): string | null {
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(e) || 2 ** -14)), -14) - 10);
    const d = Math.abs(actual[i]! - e) / ulp;
    if (d > ulps) count++;
    worst = Math.max(worst, d);
  }
  return count === 0 ? null : `${count} of ${expected.length} elements differ by more than ${ulps} fp16 ulp (worst ${worst})`;
}

describe.skipIf(cudaSkipReason !== '')('INT8 layers: CUDA vs CPU, bit for bit', () => {
  for (const [index, c] of cases.entries()) {
    it(c.name, async () => {
      const seedOf = (i: number) => 100 * (index + 1) + i;
      const data = Object.entries(c.inputs).map(([name, dims], i) => [name, dims, randomFloats(numel(dims), seedOf(i))] as const);
      const calibration = Object.fromEntries(data.map(([name, dims, v]) => [name, tensor(v, dims)]));
      const feeds = Object.fromEntries(data.map(([name, dims, v]) => [name, tensor(v.map((f) => f * 1.5), dims)]));
      const calibrator = new MinMaxCalibrator({ batches: [calibration] });
      const cpu = await load(c, 'cpu', calibrator);
      using cpuEngine = cpu.engine;
      const cuda = await load(c, 'cuda', calibrator);  // the scales of the CPU build's calibration
      using cudaEngine = cuda.engine;

      if (c.log) expect(cuda.log.find((l) => l.startsWith('fusion:')), 'the fusion the case relies on').toMatch(c.log);
      for (const engine of [cpuEngine, cudaEngine])
        expect(engine.layers.filter((l) => l.precision === 'int8').map((l) => l.kind)).toEqual(c.int8);
      expect(describeFallback(fallbackLayers(cudaEngine)), 'every layer runs on the GPU').toBe('none');
      expect(cudaEngine.layers.filter((l) => l.kind === 'QuantizeLinear' && l.runsOn === 'cuda')).toHaveLength(c.geluHandoff ? 2 : 1);
      if (c.fp16) {
        const [kind, count] = c.fp16;
        for (const engine of [cpuEngine, cudaEngine])
          expect(engine.layers.filter((l) => l.kind === kind && l.precision === 'fp16'), `${kind} layers in fp16`).toHaveLength(count);
      }

      if (c.nhwc !== undefined) {
        const conv = cudaEngine.layers.find((l) => l.kind === 'QuantizedConvolution');
        expect(!!conv?.channelsLast, 'the CUDA engine\'s INT8 convolution runs channels-last').toBe(c.nhwc);
      }

      const expected = await run(cpuEngine, feeds);
      const started = performance.now();
      const actual = await run(cudaEngine, feeds);
      const firstMs = performance.now() - started;
      // A second context makes its cuDNN plans from the first one's choice (no search): the same kernels.
      const again = performance.now();
      expect(bitDifference(actual, await run(cudaEngine, feeds)), 'a second context').toBeNull();
      if (c.nhwc || c.name.includes('cuDNN'))
        console.log(`${c.name}: first context's first run ${firstMs.toFixed(0)} ms, second context's ${(performance.now() - again).toFixed(0)} ms`);
      if (c.geluHandoff) {
        expect(cuda.log).toContain('int8 GELU: 1 fp16-engine GEMM write the pre-activation in fp16 and the QuantizeLinear after each applies the exact GELU');
      } else if (c.int8Intermediate || c.int8Writers) {
        const residual = c.int8Intermediate === 'residual' ? '; of those convolutions, 1 write no float output, their readers taking the int8 one as residual' : '';
        const writers = c.int8Writers ?? '1 channels-last convolution';
        expect(cuda.log).toContain(`int8 outputs: ${writers} write int8 for the QuantizeLinear layers that read them${residual}`);
      }
      if (c.int8Intermediate) {
        const steps = int8Steps(expected, actual);
        console.log(`${c.name}: ${int8StepSummary(steps, expected.length)}`);
        expect(int8StepDifference(steps, expected.length, c.int8MovedShare)).toBeNull();
      } else if (c.relativeError !== undefined) expect(relativeDifference(expected, actual, c.relativeError)).toBeNull();
      else if (c.halfUlps === undefined) expect(bitDifference(expected, actual)).toBeNull();
      else expect(halfUlpDifference(expected, actual, c.halfUlps)).toBeNull();
      expect(expected.some((v) => v !== 0), 'a non-trivial output').toBe(true);
    });
  }
});

/**
 * The layer norm's and the attention layer's fused int8 stores against the QuantizeLinear they replace, both on
 * CUDA: bit for bit (fp16 values may be multiplied by 1 / scale, where that gives every fp16 value the division's
 * int8 value). Each pair differs only in whether the float tensor is also a network output, which keeps the
 * QuantizeLinear (attention) or allows the fusion (layer norm).
 */
describe.skipIf(cudaSkipReason !== '')('INT8 output fusion on CUDA: fused and unfused engines bit for bit', () => {
  const xDims = [2, 16, 64];
  const networks = {
    // x -> LayerNorm (h) -> MatMul: fused where h is also an output.
    'layer norm': (fused: boolean) => (n: NetworkDefinition, x: NetworkTensor) => {
      const gamma = n.addConstant([64], randomFloats(64, 91).map((v) => 1 + 0.2 * v));
      const h = n.addLayerNormalization(x, gamma, n.addConstant([64], randomFloats(64, 92).map((v) => v * 0.1))).output();
      n.markOutput(n.addMatrixMultiply(h, weights(n, [64, 64], 93, 64)).output(), 'y');
      if (fused) n.markOutput(h, 'h');
    },
    // Q, K, V -> attention -> merged heads -> MatMul: unfused where the merged heads are also an output.
    attention: (fused: boolean) => (n: NetworkDefinition, x: NetworkTensor) => defineSelfAttention(n, x, 94, !fused),
  };
  const data = randomFloats(numel(xDims), 98);
  for (const [what, define] of Object.entries(networks)) {
    for (const precision of [['fp16', 'int8'], ['int8']] as const) {
      it(`${what} (${precision.join(' + ')})`, async () => {
        const build = async (fused: boolean) => {
          const builder = new Builder({ backend: 'cuda' });
          using network = builder.createNetwork();
          define(fused)(network, network.addInput('x', 'float32', xDims));
          const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(data, xDims) }] });
          const plan = await builder.build(network, builder.createConfig({ precision: [...precision], int8Calibrator: calibrator }));
          return { engine: await Runtime.load(plan), log: [...plan.buildLog] };
        };
        const fused = await build(true), plain = await build(false);
        using fusedEngine = fused.engine;
        using plainEngine = plain.engine;
        expect(fused.log.some((l) => l.startsWith('int8 outputs: ')), 'the fused build').toBe(true);
        expect(plain.log.some((l) => l.startsWith('int8 outputs: ')), 'the unfused build').toBe(false);
        const feeds = { x: tensor(data.map((v) => v * 1.5), xDims) };
        const y = await run(fusedEngine, feeds);
        expect(bitDifference(await run(plainEngine, feeds), y)).toBeNull();
        expect(y.some((v) => v !== 0)).toBe(true);
      });
    }
  }
});

/**
 * A max pooling writing int8 for the next convolution (INT8 output fusion, ResNet's stem pool) against the
 * unfused engine, whose QuantizeLinear stays because the pool's float output is also a network output: bit for
 * bit, on each of its CUDA paths (the fp16 NHWC vector kernel quantizing in its store; the fp32 NCHW kernel and the
 * global pool writing the maxima to scratch for the QuantizeLinear kernel). Each build has its own calibrator
 * (scales go by tensor name, and marking the output renames it); min-max gives both the same scales.
 */
describe.skipIf(cudaSkipReason !== '')('INT8 output fusion on CUDA: a max pooling writing int8, fused and unfused bit for bit', () => {
  const xDims = [2, 16, 19, 17];
  const data = randomFloats(numel(xDims), 120);
  const define = (exposePool: boolean, mode: 'max' | 'global_max') => (n: NetworkDefinition) => {
    const x = n.addInput('x', 'float32', xDims);
    const c1 = n.addConvolution(x, weights(n, [16, 16, 3, 3], 121, 144), n.addConstant([16], randomFloats(16, 122)), { pads: [1, 1, 1, 1] });
    const h = n.addActivation(c1.output(), 'relu').output();
    const window = mode === 'max' ? { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } : {};
    const p = n.addPooling(h, mode, window).output();
    n.markOutput(n.addConvolution(p, weights(n, [32, 16, 1, 1], 123, 16), null).output(), 'y');
    if (exposePool) n.markOutput(p, 'p');
  };
  const cases = [
    ['max, fp16 NHWC (the vector kernel)', 'max', ['fp16', 'int8'], true],
    ['max, fp32 NCHW', 'max', ['int8'], false],
    ['global_max, fp16 NHWC', 'global_max', ['fp16', 'int8'], true],
  ] as const;
  for (const [what, mode, precision, nhwc] of cases) {
    it(what, async () => {
      const build = async (exposePool: boolean) => {
        const builder = new Builder({ backend: 'cuda' });
        using network = builder.createNetwork();
        define(exposePool, mode)(network);
        const calibrator = new MinMaxCalibrator({ batches: [{ x: tensor(data, xDims) }] });
        const plan = await builder.build(network, builder.createConfig({ precision: [...precision], int8Calibrator: calibrator }));
        return { engine: await Runtime.load(plan), log: [...plan.buildLog] };
      };
      const fused = await build(false), plain = await build(true);
      using fusedEngine = fused.engine;
      using plainEngine = plain.engine;
      expect(fused.log).toContain('int8 outputs: 1 max pooling write int8 for the QuantizeLinear layers that read them');
      expect(plain.log.some((l) => l.startsWith('int8 outputs: ')), 'the unfused build').toBe(false);
      const pool = fusedEngine.layers.find((l) => l.kind === 'Pooling')!;
      expect([!!pool.channelsLast, pool.runsOn]).toEqual([nhwc, 'cuda']);
      expect(describeFallback(fallbackLayers(fusedEngine)), 'every layer runs on the GPU').toBe('none');
      const feeds = { x: tensor(data.map((v) => v * 1.5), xDims) };
      const y = await run(fusedEngine, feeds);
      expect(bitDifference(await run(plainEngine, feeds), y)).toBeNull();
      expect(y.some((v) => v !== 0)).toBe(true);
    });
  }
});

/**
 * QuantizeLinear with the builder's GELU (its handoff from a GEMM) on every fp16 value: x * 1 in an fp16 layer
 * stores x as fp16, then GELU and quantize. CUDA looks the values up in a table made with the CPU's double GELU, so
 * every fp16 value (infinities, signed zeros, subnormals; the NaN patterns arrive as one NaN through float32 inputs)
 * gives the CPU's int8 value; a size that is not a multiple of 8 takes the elementwise kernel (4 values a thread, or
 * one where the size is not a multiple of 4 either), whose float GELU may move a value next to a boundary by a step
 * (it moved none on an H100). An fp32 engine's QuantizeLinear reads float32 x, and applies GELU in double as the CPU
 * does: no step allowed.
 */
describe.skipIf(cudaSkipReason !== '')('QuantizeLinear with GELU on CUDA: every fp16 value against the CPU', () => {
  const patterns = fromFloat16Bits(Uint16Array.from({ length: 65536 }, (_, i) => i));
  const cases = [
    ['by table (65,536 values)', 65536, 0, 'fp16'],
    ['elementwise (65,532 values)', 65532, 1, 'fp16'],
    ['elementwise, one value a thread (65,531 values)', 65531, 1, 'fp16'],
    ['float32 x (65,536 values, an fp32 engine)', 65536, 0, 'fp32'],
  ] as const;
  for (const [what, count, stepsAllowed, xPrecision] of cases) {
    it(what, async () => {
      const define = (n: NetworkDefinition): void => {
        const x = n.addInput('x', 'float32', [count]);
        const stored = n.addElementWise(x, n.addConstant([1], Float32Array.of(1)), 'mul').output();
        const q = n.addLayer('QuantizeLinear', [stored, n.addConstant([], Float32Array.of(0.01))], { outputDType: 'int8', activation: 'gelu' });
        n.markOutput(q.output(), 'q');
      };
      const feeds = { x: tensor(patterns.slice(0, count), [count]) };
      const outputs: Int8Array[] = [];
      for (const backend of ['cpu', 'cuda'] as const) {
        const builder = new Builder({ backend });
        using network = builder.createNetwork();
        define(network);
        using engine = await Runtime.load(await builder.build(network, builder.createConfig({ precision: xPrecision === 'fp16' ? ['fp16'] : [] })));
        expect(engine.layers.map((l) => [l.kind, l.precision, l.runsOn]), backend).toEqual([['ElementWise', xPrecision, backend], ['QuantizeLinear', 'fp32', backend]]);
        using ctx = engine.createContext();
        outputs.push((await ctx.infer(feeds)).q!.data as Int8Array);
      }
      const [cpu, cuda] = outputs as [Int8Array, Int8Array];
      let differ = 0, worst = 0;
      cpu.forEach((v, i) => {
        if (v !== cuda[i]) differ++;
        worst = Math.max(worst, Math.abs(v - cuda[i]!));
      });
      console.log(`QuantizeLinear + GELU ${what}: ${differ} of ${count} int8 values differ from the CPU's, by at most ${worst}`);
      expect(worst).toBeLessThanOrEqual(stepsAllowed);
      if (stepsAllowed === 0) expect(differ).toBe(0);
      expect(new Set(cpu).size, 'many int8 values exercised').toBeGreaterThan(100);
    });
  }
});

if (cudaSkipReason !== '') reportSkipped('INT8 layers: CUDA vs CPU, bit for bit', cudaSkipReason);
if (cudaSkipReason !== '') reportSkipped('INT8 output fusion on CUDA: fused and unfused engines bit for bit', cudaSkipReason);
if (cudaSkipReason !== '') reportSkipped('QuantizeLinear with GELU on CUDA: every fp16 value against the CPU', cudaSkipReason);

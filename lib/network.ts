/**
 * NetworkDefinition: the graph an engine is built from (TensorRT's INetworkDefinition). Layers get their
 * outputs' dtype and dims as soon as they are added, so a mistake fails at the layer that makes it.
 * The ONNX parser builds through this API only: anything it builds, you can build by hand.
 */
import { addon, type NativeAttributes, type NativeNetwork } from './binding.js';
import { bytesOf, dtypeCode, dtypeFromCode, dtypeOfData, matchesDType, viewBytes, type DType, type TensorData } from './dtypes.js';
import { describeValue as describeData, typedArrayName } from './tensor.js';
import { DisposedError, InferrtError } from './errors.js';
import { optionalBoolean } from './config.js';

/** Binary elementwise operations (numpy broadcasting). Comparisons produce bool. */
export type ElementWiseOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'mod' | 'fmod'
  | 'and' | 'or' | 'xor' | 'equal' | 'less' | 'greater' | 'less_equal' | 'greater_equal' | 'prelu';
/** Unary math operations. */
export type UnaryOp =
  | 'abs' | 'neg' | 'exp' | 'log' | 'sqrt' | 'reciprocal' | 'floor' | 'ceil' | 'round' | 'sin' | 'cos' | 'tan'
  | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh' | 'erf' | 'not' | 'sign' | 'isnan' | 'isinf';
/** Activation functions; `alpha`/`beta` meanings per op are listed in native/ir/LAYERS.md. */
export type ActivationOp =
  | 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'elu' | 'selu' | 'clip' | 'hard_sigmoid' | 'hard_swish'
  | 'softplus' | 'softsign' | 'gelu' | 'thresholded_relu' | 'celu' | 'mish';
/** Reductions over axes. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'log_sum' | 'log_sum_exp' | 'sum_square';
/** Convolution/pooling padding policy (ONNX auto_pad). */
export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
/** Pooling kinds. */
export type PoolingMode = 'max' | 'average' | 'global_max' | 'global_average';
/** Per-layer precision request; 'default' follows the builder config. */
export type LayerPrecision = 'default' | 'fp32' | 'fp16' | 'int8';

const precisionCodes: Record<LayerPrecision, number> = { default: 0, fp32: 1, fp16: 2, int8: 3 };

/** How an attention operand is stored: 0 = [B, H, S, D], 1 = [B, S, H, D] (heads not yet transposed). */
export type AttentionLayout = 0 | 1;

/** Parameters of `addAttention`. */
export interface AttentionParams {
  /** Additive mask (float32 or q's dtype) that broadcasts to the scores [B, H, Sq, Sk]. Default: none. */
  mask?: NetworkTensor;
  /** Scale of q·kᵀ before the mask and softmax. Default 1. */
  alpha?: number;
  /** Storage layout of q, k, v and the output, in that order. Default [0, 0, 0, 0]. */
  layout?: readonly [AttentionLayout, AttentionLayout, AttentionLayout, AttentionLayout];
  /** A row whose probabilities are NaN (all logits -inf) gives 0 instead of NaN, as PyTorch's SDPA does. Default false. */
  zeroNanRows?: boolean;
}

/** Options every add* method takes. */
export interface LayerOptions {
  /** Layer name, unique in the network. Default: `<Kind>_<n>`. */
  name?: string;
}

/** A tensor of a network: an input, a constant, or a layer output. */
export class NetworkTensor {
  /** @internal */
  constructor(private readonly network: NetworkDefinition, readonly index: number) {}

  /** Tensor name (network inputs and outputs are addressed by name at run time). */
  get name(): string {
    return this.network.native().tensorInfo(this.index).name;
  }
  set name(value: string) {
    this.network.native().renameTensor(this.index, value);
  }
  get dtype(): DType {
    return dtypeFromCode(this.network.native().tensorInfo(this.index).dtype);
  }
  /** Dimensions; -1 where unknown until run time. */
  get dims(): number[] {
    return this.network.native().tensorInfo(this.index).dims;
  }
  get isInput(): boolean {
    return this.network.native().tensorInfo(this.index).isInput;
  }
  get isOutput(): boolean {
    return this.network.native().tensorInfo(this.index).isOutput;
  }
  get isConstant(): boolean {
    return this.network.native().tensorInfo(this.index).isConstant;
  }
  /** Contents when known while defining the network (constants, values folded from constants), else null. */
  value(): TensorData | null {
    const bytes = this.network.native().tensorValue(this.index);
    return bytes ? viewBytes(this.dtype, bytes) : null;
  }
}

/** A layer of a network. */
export class Layer {
  /** @internal */
  constructor(private readonly network: NetworkDefinition, readonly index: number) {}

  get name(): string {
    return this.network.native().layerInfo(this.index).name;
  }
  /** The IR kind, e.g. 'MatMul' (native/ir/LAYERS.md). */
  get kind(): string {
    return this.network.native().layerInfo(this.index).kind;
  }
  get inputs(): Array<NetworkTensor | null> {
    return this.network.native().layerInfo(this.index).inputs.map((i) => (i < 0 ? null : new NetworkTensor(this.network, i)));
  }
  get outputs(): NetworkTensor[] {
    return this.network.native().layerInfo(this.index).outputs.map((i) => new NetworkTensor(this.network, i));
  }
  /** Output `i` (default 0). */
  output(i = 0): NetworkTensor {
    const outs = this.outputs;
    const t = outs[i];
    if (!t) throw new InferrtError('INVALID_ARGUMENT', `layer '${this.name}' has ${outs.length} outputs; output(${i}) does not exist`);
    return t;
  }
  /** Attributes as stored. */
  get attributes(): NativeAttributes {
    return this.network.native().layerInfo(this.index).attrs;
  }
  /** Requests a precision for this layer (TensorRT's layer precision); 'default' follows the config. */
  setPrecision(precision: LayerPrecision): void {
    const code = Object.hasOwn(precisionCodes, precision) ? precisionCodes[precision] : undefined;
    if (code === undefined) {
      throw new InferrtError('INVALID_ARGUMENT', `precision must be one of ${Object.keys(precisionCodes).join(', ')}, got ${String(precision)}`);
    }
    this.network.native().setLayerPrecision(this.index, code);
  }
}

/** A tensor argument: a network tensor, or integers that become an int64 constant. */
export type TensorOrInts = NetworkTensor | readonly number[];

/** The network definition. Create with `builder.createNetwork()` or `new NetworkDefinition()`. */
export class NetworkDefinition implements Disposable {
  #native: NativeNetwork | null = addon.createNetwork();
  #constants = 0;

  /** @internal */
  native(): NativeNetwork {
    if (!this.#native) throw new DisposedError('NetworkDefinition');
    return this.#native;
  }

  /** Adds a network input. `dims` may hold -1 for dimensions given at run time (then a profile is needed). */
  addInput(name: string, dtype: DType, dims: readonly number[]): NetworkTensor {
    return this.tensor(this.native().addInput(name, dtypeCode(dtype, `addInput('${name}').dtype`), [...dims]));
  }

  /**
   * Adds a constant (weights). `data` is copied. The dtype is taken from the typed array unless given
   * (needed for 'bool', which shares Uint8Array with 'uint8', and 'float16' raw bits in a Uint16Array); a dtype the
   * typed array does not hold is DTYPE_MISMATCH.
   */
  addConstant(dims: readonly number[], data: TensorData, options: { name?: string; dtype?: DType } = {}): NetworkTensor {
    const natural = dtypeOfData(data);
    if (!natural) throw new InferrtError('INVALID_ARGUMENT', `addConstant: data must be a typed array of a supported dtype, got ${describeData(data)}`);
    const dtype = options.dtype ?? natural;
    const code = dtypeCode(dtype, 'addConstant: dtype');
    // An explicit dtype must be one the typed array holds (a Float32Array's bytes are not int64 values).
    if (!matchesDType(dtype, data)) {
      throw new InferrtError('DTYPE_MISMATCH', `addConstant: dtype '${dtype}' needs a ${typedArrayName[dtype]}, got ${describeData(data)}`);
    }
    const name = options.name ?? this.native().uniqueLayerName(`const_${this.#constants++}`);
    return this.tensor(this.native().addConstant(name, code, [...dims], bytesOf(data)));
  }

  /**
   * Adds a layer of any IR kind (native/ir/LAYERS.md) — the low-level form of the typed add* methods.
   * `null` inputs mark absent optional inputs.
   */
  addLayer(kind: string, inputs: ReadonlyArray<NetworkTensor | null>, attrs: NativeAttributes = {}, options: LayerOptions & { numOutputs?: number } = {}): Layer {
    const native = this.native();
    const name = options.name ?? native.uniqueLayerName(kind);
    const ids = inputs.map((t) => (t === null ? -1 : this.own(t, `${kind} '${name}'`).index));
    native.addLayer(kind, name, ids, attrs, options.numOutputs ?? 1);
    return new Layer(this, native.numLayers() - 1);
  }

  addElementWise(a: NetworkTensor, b: NetworkTensor, op: ElementWiseOp, options?: LayerOptions): Layer {
    return this.addLayer('ElementWise', [a, b], { op }, options);
  }
  addUnary(x: NetworkTensor, op: UnaryOp, options?: LayerOptions): Layer {
    return this.addLayer('Unary', [x], { op }, options);
  }
  addActivation(x: NetworkTensor, op: ActivationOp, params: { alpha?: number; beta?: number; approximate?: 'none' | 'tanh' } & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { op };
    if (params.alpha !== undefined) attrs.alpha = params.alpha;
    if (params.beta !== undefined) attrs.beta = params.beta;
    if (params.approximate !== undefined) attrs.approximate = params.approximate;
    return this.addLayer('Activation', [x], attrs, params);
  }
  /**
   * Softmax (or, with `log`, LogSoftmax) along `axis` (default -1). `mask`, optional, is added to x first:
   * softmax(x + mask), with the mask (x's float type or float32) broadcast into x's shape.
   */
  addSoftmax(x: NetworkTensor, params: { axis?: number; log?: boolean; mask?: NetworkTensor } & LayerOptions = {}): Layer {
    const inputs = params.mask ? [x, params.mask] : [x];
    return this.addLayer('Softmax', inputs, { axis: params.axis ?? -1, log: params.log ? 1 : 0 }, params);
  }
  /**
   * Layer normalization over dims [axis, rank): (x - mean) / sqrt(var + epsilon) * scale + bias. With `skip` (x's
   * dtype and exact dims, no broadcast), x + skip is normalized instead, the sum rounded to x's dtype first as an
   * Add layer would store it ("skip layernorm").
   */
  addLayerNormalization(x: NetworkTensor, scale: NetworkTensor, bias: NetworkTensor | null, params: { axis?: number; epsilon?: number; skip?: NetworkTensor } & LayerOptions = {}): Layer {
    const inputs = params.skip ? [x, scale, bias, null, null, params.skip] : [x, scale, bias];
    return this.addLayer('Normalization', inputs, { mode: 'layer', axis: params.axis ?? -1, epsilon: params.epsilon ?? 1e-5 }, params);
  }
  /** Instance normalization (per sample and channel over spatial dims). */
  addInstanceNormalization(x: NetworkTensor, scale: NetworkTensor, bias: NetworkTensor, params: { epsilon?: number } & LayerOptions = {}): Layer {
    return this.addLayer('Normalization', [x, scale, bias], { mode: 'instance', epsilon: params.epsilon ?? 1e-5 }, params);
  }
  /** Batch normalization, inference form, channel axis 1. */
  addBatchNormalization(x: NetworkTensor, scale: NetworkTensor, bias: NetworkTensor, mean: NetworkTensor, variance: NetworkTensor, params: { epsilon?: number } & LayerOptions = {}): Layer {
    return this.addLayer('Normalization', [x, scale, bias, mean, variance], { mode: 'batch', epsilon: params.epsilon ?? 1e-5 }, params);
  }
  /**
   * Matrix multiply with numpy batch broadcasting; transposeA/B swap the last two dims first. `alpha` (default 1,
   * float inputs only) scales the product: alpha · (a · b).
   */
  addMatrixMultiply(a: NetworkTensor, b: NetworkTensor, params: { transposeA?: boolean; transposeB?: boolean; alpha?: number } & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { transA: params.transposeA ? 1 : 0, transB: params.transposeB ? 1 : 0 };
    if (params.alpha !== undefined) attrs.alpha = params.alpha;
    return this.addLayer('MatMul', [a, b], attrs, params);
  }
  /**
   * Fused scaled-dot-product attention (native/ir/LAYERS.md, kind 'Attention'): per batch b and head h,
   * out[b, h, i, :] = Σ_j p_ij · v[b, h, j, :] with p_i = softmax_j(alpha · q[b, h, i, :]·k[b, h, j, :] + mask[b, h, i, j]),
   * computed in fp32. q is [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv] and the output [B, H, Sq, Dv]: each stored
   * so unless its `layout` entry (q, k, v, out; default all 0) is 1, which means stored [B, S, H, D] (heads not yet
   * transposed). B and H must be equal in q, k and v (no broadcasting). `mask` (float32 or q's dtype, rank ≤ 4)
   * broadcasts to [B, H, Sq, Sk] without enlarging it; a row whose logits are all -inf gives NaN. `alpha` defaults
   * to 1 (exporters use 1/sqrt(D)). The builder also makes these layers from MatMul → Softmax → MatMul.
   */
  addAttention(q: NetworkTensor, k: NetworkTensor, v: NetworkTensor, params: AttentionParams & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { alpha: params.alpha ?? 1, layout: [...(params.layout ?? [0, 0, 0, 0])] };
    if (optionalBoolean(params.zeroNanRows, 'addAttention: zeroNanRows')) attrs.zero_nan_rows = 1;
    return this.addLayer('Attention', [q, k, v, params.mask ?? null], attrs, params);
  }
  /** N-D convolution (NCHW; weights [M, C/group, k...]), or 2-D NHWC with `channelsLast`. */
  addConvolution(x: NetworkTensor, weights: NetworkTensor, bias: NetworkTensor | null, params: ConvolutionParams & LayerOptions = {}): Layer {
    const attrs = windowAttrs(params, { group: params.group ?? 1 });
    if (optionalBoolean(params.channelsLast, 'addConvolution: channelsLast')) attrs.channels_last = 1;
    return this.addLayer('Convolution', [x, weights, bias], attrs, params);
  }
  addPooling(x: NetworkTensor, mode: PoolingMode, params: PoolingParams & LayerOptions = {}): Layer {
    const attrs = windowAttrs(params, { mode, ceil_mode: params.ceilMode ? 1 : 0, count_include_pad: params.countIncludePad ? 1 : 0 });
    if (optionalBoolean(params.channelsLast, 'addPooling: channelsLast')) attrs.channels_last = 1;
    return this.addLayer('Pooling', [x], attrs, params);
  }
  /**
   * Quantizes x (float32, float16 or int32) to int8 / uint8: y = saturate(roundHalfToEven(x / scale) + zeroPoint),
   * x / scale computed in float32. `scale` (float32 / float16) and `zeroPoint` (int8 / uint8: the output's dtype)
   * hold one value, or one per index of x's dim `axis` (default 1). Without a zero point (taken as 0) the output is
   * `outputDType` (default 'uint8').
   */
  addQuantize(x: NetworkTensor, scale: NetworkTensor, zeroPoint: NetworkTensor | null = null, params: QuantizeParams & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { axis: params.axis ?? 1 };
    if (params.outputDType !== undefined) attrs.outputDType = params.outputDType;
    return this.addLayer('QuantizeLinear', [x, scale, zeroPoint], attrs, params);
  }
  /**
   * Dequantizes x (int8, uint8 or int32) to scale's dtype: y = (x - zeroPoint) * scale, in float32. `scale` and
   * `zeroPoint` (x's dtype; default 0) hold one value, or one per index of x's dim `axis` (default 1).
   */
  addDequantize(x: NetworkTensor, scale: NetworkTensor, zeroPoint: NetworkTensor | null = null, params: { axis?: number } & LayerOptions = {}): Layer {
    return this.addLayer('DequantizeLinear', [x, scale, zeroPoint], { axis: params.axis ?? 1 }, params);
  }
  /**
   * Quantizes float32 x to uint8 over its own range (ONNX DynamicQuantizeLinear). Outputs: y (uint8, x's dims),
   * its scale (float32 scalar) and zero point (uint8 scalar).
   */
  addDynamicQuantize(x: NetworkTensor, options: LayerOptions = {}): Layer {
    return this.addLayer('DynamicQuantizeLinear', [x], {}, { ...options, numOutputs: 3 });
  }
  /**
   * (a - aZeroPoint) · (b - bZeroPoint) with numpy matmul broadcasting, exact in int32: a and b int8 / uint8, each
   * zero point of its operand's dtype, one value or one per row of a ([M]) / per column of b ([N]); default 0.
   */
  addMatrixMultiplyInteger(a: NetworkTensor, b: NetworkTensor, aZeroPoint: NetworkTensor | null = null, bZeroPoint: NetworkTensor | null = null, options: LayerOptions = {}): Layer {
    return this.addLayer('MatMulInteger', [a, b, aZeroPoint, bZeroPoint], {}, options);
  }
  /**
   * Convolution of (x - xZeroPoint) by (w - wZeroPoint), exact in int32 (NCHW; the Convolution layer's window
   * parameters). x and w int8 / uint8; xZeroPoint one value, wZeroPoint one or one per output channel ([M]).
   * Padding adds nothing (a padded x equals xZeroPoint).
   */
  addConvolutionInteger(x: NetworkTensor, weights: NetworkTensor, xZeroPoint: NetworkTensor | null = null, wZeroPoint: NetworkTensor | null = null, params: WindowParams & { group?: number } & LayerOptions = {}): Layer {
    return this.addLayer('ConvInteger', [x, weights, xZeroPoint, wZeroPoint], windowAttrs(params, { group: params.group ?? 1 }), params);
  }
  /** Reduction; `axes` as integers or an int64 tensor; no axes reduces all (unless noopWithEmptyAxes). */
  addReduce(x: NetworkTensor, op: ReduceOp, params: { axes?: readonly number[] | NetworkTensor; keepDims?: boolean; noopWithEmptyAxes?: boolean } & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { op, keepdims: params.keepDims === false ? 0 : 1, noop_with_empty_axes: params.noopWithEmptyAxes ? 1 : 0 };
    const inputs: Array<NetworkTensor | null> = [x];
    if (params.axes instanceof NetworkTensor) inputs.push(params.axes);
    else if (params.axes) attrs.axes = [...params.axes];
    return this.addLayer('Reduce', inputs, attrs, params);
  }
  addArgMinMax(x: NetworkTensor, op: 'argmax' | 'argmin', params: { axis?: number; keepDims?: boolean; selectLastIndex?: boolean } & LayerOptions = {}): Layer {
    return this.addLayer('ArgMinMax', [x], { op, axis: params.axis ?? 0, keepdims: params.keepDims === false ? 0 : 1, select_last_index: params.selectLastIndex ? 1 : 0 }, params);
  }
  addCumSum(x: NetworkTensor, axis: NetworkTensor | number, params: { exclusive?: boolean; reverse?: boolean } & LayerOptions = {}): Layer {
    const axisTensor = typeof axis === 'number' ? this.int64Constant([axis], []) : axis;
    return this.addLayer('CumSum', [x, axisTensor], { exclusive: params.exclusive ? 1 : 0, reverse: params.reverse ? 1 : 0 }, params);
  }
  /** Reshape (ONNX semantics: 0 copies the input dim unless allowZero, one -1 is inferred). */
  addReshape(x: NetworkTensor, shape: TensorOrInts, params: { allowZero?: boolean } & LayerOptions = {}): Layer {
    return this.addLayer('Reshape', [x, this.ints(shape)], { allowzero: params.allowZero ? 1 : 0 }, params);
  }
  addTranspose(x: NetworkTensor, perm?: readonly number[], options?: LayerOptions): Layer {
    return this.addLayer('Transpose', [x], perm ? { perm: [...perm] } : {}, options);
  }
  addSqueeze(x: NetworkTensor, axes?: readonly number[], options?: LayerOptions): Layer {
    return this.addLayer('Squeeze', [x], axes ? { axes: [...axes] } : {}, options);
  }
  addUnsqueeze(x: NetworkTensor, axes: readonly number[], options?: LayerOptions): Layer {
    return this.addLayer('Unsqueeze', [x], { axes: [...axes] }, options);
  }
  addFlatten(x: NetworkTensor, axis = 1, options?: LayerOptions): Layer {
    return this.addLayer('Flatten', [x], { axis }, options);
  }
  /** The shape of `x` as an int64 tensor (dims [start, end)). */
  addShape(x: NetworkTensor, params: { start?: number; end?: number } & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = {};
    if (params.start !== undefined) attrs.start = params.start;
    if (params.end !== undefined) attrs.end = params.end;
    return this.addLayer('Shape', [x], attrs, params);
  }
  addExpand(x: NetworkTensor, shape: TensorOrInts, options?: LayerOptions): Layer {
    return this.addLayer('Expand', [x, this.ints(shape)], {}, options);
  }
  addTile(x: NetworkTensor, repeats: TensorOrInts, options?: LayerOptions): Layer {
    return this.addLayer('Tile', [x, this.ints(repeats)], {}, options);
  }
  addGather(data: NetworkTensor, indices: NetworkTensor, axis = 0, options?: LayerOptions): Layer {
    return this.addLayer('Gather', [data, indices], { axis }, options);
  }
  addGatherElements(data: NetworkTensor, indices: NetworkTensor, axis = 0, options?: LayerOptions): Layer {
    return this.addLayer('GatherElements', [data, indices], { axis }, options);
  }
  /** ONNX Slice: starts/ends (and optional axes, steps) as integers or int64 tensors. */
  addSlice(x: NetworkTensor, starts: TensorOrInts, ends: TensorOrInts, axes?: TensorOrInts | null, steps?: TensorOrInts | null, options?: LayerOptions): Layer {
    const inputs = [x, this.ints(starts), this.ints(ends), axes ? this.ints(axes) : null, steps ? this.ints(steps) : null];
    while (inputs.length > 3 && inputs[inputs.length - 1] === null) inputs.pop();
    return this.addLayer('Slice', inputs, {}, options);
  }
  addConcat(inputs: readonly NetworkTensor[], axis: number, options?: LayerOptions): Layer {
    return this.addLayer('Concat', inputs, { axis }, options);
  }
  /** Splits along `axis` into `numOutputs` parts, sized by `split` or equally. */
  addSplit(x: NetworkTensor, params: { axis?: number; split?: TensorOrInts; numOutputs: number } & LayerOptions): Layer {
    const inputs = params.split ? [x, this.ints(params.split)] : [x];
    return this.addLayer('Split', inputs, { axis: params.axis ?? 0 }, { ...params, numOutputs: params.numOutputs });
  }
  addPad(x: NetworkTensor, pads: TensorOrInts, params: { mode?: 'constant' | 'reflect' | 'edge'; value?: NetworkTensor | null; axes?: TensorOrInts } & LayerOptions = {}): Layer {
    const inputs = [x, this.ints(pads), params.value ?? null, params.axes ? this.ints(params.axes) : null];
    while (inputs.length > 2 && inputs[inputs.length - 1] === null) inputs.pop();
    return this.addLayer('Pad', inputs, { mode: params.mode ?? 'constant' }, params);
  }
  addTrilu(x: NetworkTensor, params: { upper?: boolean; k?: NetworkTensor | number } & LayerOptions = {}): Layer {
    const inputs: Array<NetworkTensor | null> = [x];
    if (params.k !== undefined) inputs.push(typeof params.k === 'number' ? this.int64Constant([params.k], []) : params.k);
    return this.addLayer('Trilu', inputs, { upper: params.upper === false ? 0 : 1 }, params);
  }
  addWhere(condition: NetworkTensor, x: NetworkTensor, y: NetworkTensor, options?: LayerOptions): Layer {
    return this.addLayer('Where', [condition, x, y], {}, options);
  }
  /** A tensor of `shape` filled with `value` (a one-element tensor whose dtype is the output's). */
  addConstantOfShape(shape: TensorOrInts, value: NetworkTensor, options?: LayerOptions): Layer {
    return this.addLayer('ConstantOfShape', [this.ints(shape), value], {}, options);
  }
  addRange(start: NetworkTensor, limit: NetworkTensor, delta: NetworkTensor, options?: LayerOptions): Layer {
    return this.addLayer('Range', [start, limit, delta], {}, options);
  }
  addCast(x: NetworkTensor, to: DType, options?: LayerOptions): Layer {
    return this.addLayer('Cast', [x], { to: dtypeCode(to, 'addCast: to') }, options);
  }
  addIdentity(x: NetworkTensor, options?: LayerOptions): Layer {
    return this.addLayer('Identity', [x], {}, options);
  }
  /**
   * Adds a plugin layer (see `plugins()` for what is registered). Its attributes are stored in the plan.
   * `null` marks an absent optional input (e.g. PackedEmbLayerNorm's segment_ids).
   */
  addPlugin(pluginName: string, inputs: ReadonlyArray<NetworkTensor | null>, attributes: NativeAttributes = {}, params: { version?: string; numOutputs?: number } & LayerOptions = {}): Layer {
    const attrs: NativeAttributes = { ...attributes, plugin_name: pluginName, plugin_version: params.version ?? '1' };
    return this.addLayer('Plugin', inputs, attrs, params);
  }

  /** Marks a tensor as a network output, optionally renaming it. */
  markOutput(tensor: NetworkTensor, name?: string): void {
    this.own(tensor, 'markOutput');
    if (name !== undefined) tensor.name = name;
    this.native().markOutput(tensor.index);
  }
  unmarkOutput(tensor: NetworkTensor): void {
    this.native().unmarkOutput(this.own(tensor, 'unmarkOutput').index);
  }

  /** An int64 constant (shape tensors and index lists). */
  int64Constant(values: readonly number[] | readonly bigint[], dims: readonly number[] = [values.length], name?: string): NetworkTensor {
    if (!Array.isArray(values)) {
      throw new InferrtError('INVALID_ARGUMENT', `int64Constant: values must be an array of integers, got ${describeData(values)}`);
    }
    values.forEach((v: unknown, i) => {
      if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v))) {
        throw new InferrtError('INVALID_ARGUMENT', `int64Constant: values[${i}] must be an integer, got ${typeof v === 'string' ? `'${v}'` : String(v)} (in [${values.map(String).join(', ')}])`);
      }
    });
    const data = BigInt64Array.from(values as readonly (number | bigint)[], (v) => BigInt(v));
    return this.addConstant(dims, data, name === undefined ? {} : { name });
  }

  get inputs(): NetworkTensor[] {
    return this.native().inputs().map((i) => this.tensor(i));
  }
  get outputs(): NetworkTensor[] {
    return this.native().outputs().map((i) => this.tensor(i));
  }
  get numLayers(): number {
    return this.native().numLayers();
  }
  getLayer(index: number): Layer {
    if (!Number.isInteger(index) || index < 0 || index >= this.numLayers) {
      throw new InferrtError('INVALID_ARGUMENT', `getLayer: index must be in [0, ${this.numLayers}), got ${index}`);
    }
    return new Layer(this, index);
  }
  /** A tensor by name, or undefined. */
  getTensor(name: string): NetworkTensor | undefined {
    const i = this.native().findTensor(name);
    return i < 0 ? undefined : this.tensor(i);
  }

  /** Frees the native network. Safe to call twice. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  private tensor(index: number): NetworkTensor {
    return new NetworkTensor(this, index);
  }
  private own(t: NetworkTensor, what: string): NetworkTensor {
    if (!(t instanceof NetworkTensor) || (t as unknown as { network: unknown }).network !== this) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: tensor does not belong to this network`);
    }
    return t;
  }
  private ints(v: TensorOrInts): NetworkTensor {
    return v instanceof NetworkTensor ? v : this.int64Constant(v as readonly number[]);
  }
}

/** Parameters of `addQuantize`. */
export interface QuantizeParams {
  /** The dim a per-axis scale (1-D, more than one value) runs along; negative counts from the end. Default 1. */
  axis?: number;
  /** The output dtype when there is no zero point (with one, the zero point's dtype). Default 'uint8'. */
  outputDType?: 'int8' | 'uint8';
}

/** Window options shared by convolution and pooling (ONNX attribute meanings). */
export interface WindowParams {
  kernelShape?: readonly number[];
  strides?: readonly number[];
  /** [begin_0, begin_1, ..., end_0, end_1, ...] */
  pads?: readonly number[];
  dilations?: readonly number[];
  autoPad?: AutoPad;
}
export interface ConvolutionParams extends WindowParams {
  group?: number;
  /** Channels-last (2-D only): x [N, H, W, C], weights [M, kH, kW, C/group], output [N, H', W', M]. Default `false` (NCHW). */
  channelsLast?: boolean;
}
export interface PoolingParams extends WindowParams {
  ceilMode?: boolean;
  countIncludePad?: boolean;
  /** Channels-last (2-D only): x [N, H, W, C], output [N, H', W', C]. Default `false` (NCHW). */
  channelsLast?: boolean;
}

function windowAttrs(p: WindowParams, base: NativeAttributes): NativeAttributes {
  const attrs: NativeAttributes = { ...base, auto_pad: p.autoPad ?? 'NOTSET' };
  if (p.kernelShape) attrs.kernel_shape = [...p.kernelShape];
  if (p.strides) attrs.strides = [...p.strides];
  if (p.pads) attrs.pads = [...p.pads];
  if (p.dilations) attrs.dilations = [...p.dilations];
  return attrs;
}

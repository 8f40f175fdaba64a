/**
 * ImportContext: what importers share while one graph is imported — the ONNX name → network tensor map,
 * unique layer and tensor naming, build-time-known values, and small constant helpers.
 */
import type { onnx as pb } from 'onnx-proto';
import { floatToHalfBits, halfBitsToFloat, type DType, type TensorData } from '../dtypes.js';
import { InferrtError } from '../errors.js';
import type { LayerOptions, NetworkDefinition, NetworkTensor } from '../network.js';
import type { OnnxNode } from './node.js';
import { decodeTensorProto, tensorDataOf } from './tensor-proto.js';

/** Shared state of one import; importers receive it with each node. */
export class ImportContext {
  readonly warnings: string[] = [];
  private readonly tensors = new Map<string, NetworkTensor>();
  /** Initializers not yet added: constants are created on first use, so unused weights cost nothing. */
  private readonly pendingInitializers = new Map<string, pb.ITensorProto>();
  /** Network tensor indices that carry an ONNX name (never renamed again). */
  private readonly named = new Set<number>();
  private readonly layerNames = new Set<string>();

  /**
   * @param reserved every tensor name the ONNX graph uses (so generated names never take one)
   * @param consumed every name some node reads or the graph outputs
   */
  constructor(
    readonly network: NetworkDefinition,
    private readonly reserved: ReadonlySet<string>,
    private readonly consumed: ReadonlySet<string>,
    private readonly modelDir: string | undefined,
    private readonly inputValues: Readonly<Record<string, ArrayLike<number | bigint>>> = {},
  ) {
    for (let i = 0; i < network.numLayers; i++) this.layerNames.add(network.getLayer(i).name);
  }

  // ---- ONNX names ----

  addInitializer(t: pb.ITensorProto): void {
    this.pendingInitializers.set(t.name ?? '', t);
  }
  isInitializer(name: string): boolean {
    return this.pendingInitializers.has(name) || (this.tensors.get(name)?.isConstant ?? false);
  }

  /** The tensor an ONNX name refers to (materializing an initializer on first use), or undefined. */
  lookup(name: string): NetworkTensor | undefined {
    const t = this.tensors.get(name);
    if (t) return t;
    const init = this.pendingInitializers.get(name);
    if (!init) return undefined;
    this.pendingInitializers.delete(name);
    const decoded = decodeTensorProto(init, { modelDir: this.modelDir, what: `initializer '${name}'` });
    const c = this.network.addConstant(decoded.dims, tensorDataOf(decoded), { name: this.freshTensorName(name), dtype: decoded.dtype });
    this.bind(name, c);
    return c;
  }

  /**
   * Maps an ONNX name to a tensor, renaming the tensor to it. Generated names never take an ONNX name, so a
   * clash means the network already held that name before parsing (or the model defines it twice).
   */
  bind(name: string, t: NetworkTensor): void {
    if (t.name !== name) {
      const holder = this.network.getTensor(name);
      if (holder && holder.index !== t.index) {
        throw new InferrtError('INVALID_MODEL', `tensor name '${name}' is already used in the network`);
      }
      t.name = name;
    }
    this.named.add(t.index);
    this.tensors.set(name, t);
  }

  /** Whether a tensor already carries an ONNX name (an importer returning it must copy it first). */
  isNamed(t: NetworkTensor): boolean {
    return this.named.has(t.index);
  }

  /** Whether some node reads `name` or the graph outputs it. */
  isConsumed(name: string): boolean {
    return name !== '' && this.consumed.has(name);
  }

  // ---- node inputs ----

  /** Input `i` of `node`, or null when absent (beyond the list or an empty name). */
  input(node: OnnxNode, i: number): NetworkTensor | null {
    const name = node.inputs[i];
    if (!name) return null;
    const t = this.lookup(name);
    if (!t) throw new InferrtError('INVALID_MODEL', `node ${node.label} input '${name}' is not produced by any node, input or initializer`);
    return t;
  }

  /** Input `i`, which must be present. */
  required(node: OnnxNode, i: number, what = `input ${i}`): NetworkTensor {
    const t = this.input(node, i);
    if (!t) throw node.invalid(`${what} is required`);
    return t;
  }

  /** Every present input. */
  presentInputs(node: OnnxNode): NetworkTensor[] {
    const out: NetworkTensor[] = [];
    for (let i = 0; i < node.inputs.length; i++) {
      const t = this.input(node, i);
      if (t) out.push(t);
    }
    return out;
  }

  // ---- values known while building ----

  /** The tensor's contents when known now (constants and values folded from them), as numbers. */
  knownNumbers(t: NetworkTensor): number[] | null {
    const v = t.value();
    return v ? numbersOf(t.dtype, v) : null;
  }

  /**
   * The value of a tensor needed at build time: its known contents, or for a graph input the value given in
   * `OnnxParseOptions.inputValues` (the engine is then specialized to it; a warning says so). Else null.
   */
  buildTimeNumbers(t: NetworkTensor, node: OnnxNode): number[] | null {
    const known = this.knownNumbers(t);
    if (known) return known;
    if (!t.isInput || !Object.prototype.hasOwnProperty.call(this.inputValues, t.name)) return null;
    this.warn(node, `uses the value of graph input '${t.name}' given in options.inputValues at build time`);
    return Array.from(this.inputValues[t.name]!, (v) => Number(v));
  }

  /**
   * Input `i` as integers that must be known while building (axes, split sizes): UNSUPPORTED_OP naming
   * `what` otherwise, since the output rank would depend on run-time data. Absent → null.
   */
  constantInts(node: OnnxNode, i: number, what: string): number[] | null {
    const t = this.input(node, i);
    if (!t) return null;
    const v = this.buildTimeNumbers(t, node);
    if (!v) throw node.unsupported(`${what} (input ${i}, '${node.inputs[i]}') must be known at build time (a constant, folded from constants, or given in options.inputValues)`);
    if (v.some((x) => !Number.isInteger(x))) throw node.invalid(`${what} must be integers`);
    return v;
  }

  /** A float input whose value must be known at build time; absent → null. */
  constantScalar(node: OnnxNode, i: number, what: string): number | null {
    const t = this.input(node, i);
    if (!t) return null;
    const v = this.knownNumbers(t);
    if (!v) return null;
    if (v.length !== 1) throw node.invalid(`${what} must hold one value, got ${v.length}`);
    return v[0]!;
  }

  // ---- naming ----

  /**
   * A unique layer name for a layer of `node`: the node name for its main layer (no tag), `<node>/<tag>` for
   * helpers. Also keeps the layer's default output names (`<layer>:<i>`) clear of ONNX names.
   */
  layerName(node: OnnxNode, tag?: string, numOutputs = 1): string {
    return this.uniqueLayerName(tag === undefined ? node.name : `${node.name}/${tag}`, numOutputs, node.outputs);
  }

  /** A layer name not yet taken whose default output names `<name>:<i>` are free (or are `ownOutputs[i]`). */
  uniqueLayerName(base: string, numOutputs = 1, ownOutputs: readonly string[] = []): string {
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? base : `${base}_${n}`;
      if (this.layerNames.has(candidate)) continue;
      let clash = false;
      for (let i = 0; i < numOutputs && !clash; i++) {
        const out = `${candidate}:${i}`;
        clash = (this.reserved.has(out) && ownOutputs[i] !== out) || this.network.getTensor(out) !== undefined;
      }
      if (clash) continue;
      this.layerNames.add(candidate);
      return candidate;
    }
  }

  /** `{ name }` layer options for a layer of `node` (see {@link layerName}). */
  opts(node: OnnxNode, tag?: string, numOutputs = 1): LayerOptions {
    return { name: this.layerName(node, tag, numOutputs) };
  }

  /** A tensor name no ONNX tensor and no network tensor has. */
  freshTensorName(base: string): string {
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? base : `${base}_${n}`;
      if (!this.reserved.has(candidate) && this.network.getTensor(candidate) === undefined) return candidate;
    }
  }

  // ---- constants ----

  /** A scalar constant (dims []) of `dtype` for a helper of `node`. */
  scalar(value: number, dtype: DType, node: OnnxNode, tag: string, dims: readonly number[] = []): NetworkTensor {
    return this.network.addConstant(dims, typedScalar(value, dtype), { name: this.freshTensorName(`${node.name}/${tag}`), dtype });
  }

  /** An int64 constant for a helper of `node` (1-D unless `dims` says otherwise). */
  int64(values: ReadonlyArray<number | bigint>, node: OnnxNode, tag: string, dims: readonly number[] = [values.length]): NetworkTensor {
    const data = BigInt64Array.from(values, (v) => (typeof v === 'bigint' ? v : BigInt(v)));
    return this.network.addConstant(dims, data, { name: this.freshTensorName(`${node.name}/${tag}`), dtype: 'int64' });
  }

  /** A constant from a TensorProto attribute (Constant, ConstantOfShape). */
  tensorConstant(proto: pb.ITensorProto, node: OnnxNode, tag: string): NetworkTensor {
    const decoded = decodeTensorProto(proto, { modelDir: this.modelDir, what: `node ${node.label} attribute '${tag}'` });
    return this.network.addConstant(decoded.dims, tensorDataOf(decoded), { name: this.freshTensorName(`${node.name}/${tag}`), dtype: decoded.dtype });
  }

  warn(node: OnnxNode | null, message: string): void {
    this.warnings.push(node ? `node ${node.label}: ${message}` : message);
  }
}

/** Whether a dtype holds floating-point values (float attributes apply to integer tensors only via float math). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16';
}

/** Elements of a typed array as numbers (float16 bits decoded, int64 clamped to the safe range). */
export function numbersOf(dtype: DType, data: TensorData): number[] {
  if (data instanceof BigInt64Array) {
    return Array.from(data, (v) => (v > 9007199254740991n ? Number.MAX_SAFE_INTEGER : v < -9007199254740991n ? Number.MIN_SAFE_INTEGER : Number(v)));
  }
  if (dtype === 'float16') return Array.from(data as Uint16Array, halfBitsToFloat);
  return Array.from(data as ArrayLike<number>);
}

/** Numbers as the typed array of `dtype` (ints truncate toward zero, bool is value != 0, float16 rounds to nearest even). */
export function typedArray(values: readonly number[], dtype: DType): TensorData {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float16': return Uint16Array.from(values, (v) => floatToHalfBits(v));
    case 'int8': return Int8Array.from(values, (v) => Math.trunc(v));
    case 'uint8': return Uint8Array.from(values, (v) => Math.trunc(v));
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    case 'int32': return Int32Array.from(values, (v) => Math.trunc(v));
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
  }
}

/** One value as a one-element typed array of `dtype`. */
export function typedScalar(value: number, dtype: DType): TensorData {
  return typedArray([value], dtype);
}

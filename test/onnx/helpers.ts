/**
 * Builds small ONNX models in tests with onnx-proto's own encoder (no Python, no fixtures).
 */
import onnxProto from 'onnx-proto';
import type { onnx as pb } from 'onnx-proto';

export const onnx = onnxProto.onnx;
export const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

/** Marks a number as a FLOAT attribute even when it is integral. */
export class F {
  constructor(readonly values: number | number[]) {}
}
export const f = (v: number | number[]): F => new F(v);

export type AttrValue = number | bigint | string | number[] | bigint[] | F | pb.ITensorProto;

export function attr(name: string, v: AttrValue): pb.IAttributeProto {
  if (v instanceof F) {
    return Array.isArray(v.values) ? { name, type: A.FLOATS, floats: v.values } : { name, type: A.FLOAT, f: v.values };
  }
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'bigint') return { name, type: A.INT, i: toLong(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (Array.isArray(v)) {
    const arr = v as Array<number | bigint>;
    if (arr.every((x) => typeof x === 'bigint' || Number.isInteger(x))) return { name, type: A.INTS, ints: arr.map((x) => (typeof x === 'bigint' ? toLong(x) : x)) };
    return { name, type: A.FLOATS, floats: arr as number[] };
  }
  return { name, type: A.TENSOR, t: v };
}

/** A protobufjs Long from a bigint (exact for the whole int64 range). */
export function toLong(v: bigint): { low: number; high: number; unsigned: boolean } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string, domain?: string): pb.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: name ?? `${opType}_${outputs[0] ?? ''}`,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    ...(domain !== undefined ? { domain } : {}),
  };
}

/** A graph input/output: dims are numbers, or strings for symbolic (dim_param) dims. */
export function valueInfo(name: string, elemType: number, dims: Array<number | string> | null): pb.IValueInfoProto {
  const tensorType: pb.TypeProto.ITensor = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) };
  return { name, type: { tensorType } };
}

/** A TensorProto; `raw` stores little-endian raw_data, otherwise the typed field ONNX uses for the dtype. */
export function tensor(name: string, dataType: number, dims: number[], values: ArrayLike<number | bigint>, raw = true): pb.ITensorProto {
  const t: pb.ITensorProto = { name, dataType, dims };
  const n = values.length;
  const nums = Array.from(values as ArrayLike<number>);
  if (raw) {
    let bytes: Uint8Array;
    switch (dataType) {
      case T.FLOAT: bytes = new Uint8Array(Float32Array.from(nums).buffer); break;
      case T.DOUBLE: bytes = new Uint8Array(Float64Array.from(nums).buffer); break;
      case T.INT64: bytes = new Uint8Array(BigInt64Array.from(values as ArrayLike<bigint | number>, (v) => BigInt(v)).buffer); break;
      case T.INT32: bytes = new Uint8Array(Int32Array.from(nums).buffer); break;
      case T.FLOAT16: case T.UINT16: bytes = new Uint8Array(Uint16Array.from(nums).buffer); break;
      case T.INT16: bytes = new Uint8Array(Int16Array.from(nums).buffer); break;
      case T.INT8: bytes = new Uint8Array(Int8Array.from(nums).buffer); break;
      case T.UINT8: case T.BOOL: bytes = Uint8Array.from(nums); break;
      default: throw new Error(`tensor(): no raw encoding for data type ${dataType}`);
    }
    if (bytes.byteLength === 0 && n > 0) throw new Error('empty');
    t.rawData = bytes;
  } else if (dataType === T.FLOAT) t.floatData = nums;
  else if (dataType === T.DOUBLE) t.doubleData = nums;
  else if (dataType === T.INT64) t.int64Data = Array.from(values as ArrayLike<bigint | number>, (v) => toLong(BigInt(v)));
  else t.int32Data = nums;
  return t;
}

export interface ModelSpec {
  nodes: pb.INodeProto[];
  inputs: pb.IValueInfoProto[];
  outputs: pb.IValueInfoProto[];
  initializers?: pb.ITensorProto[];
  opset?: number;
  extraOpsets?: Array<{ domain: string; version: number }>;
  functions?: pb.IFunctionProto[];
  irVersion?: number;
}

export function modelProto(spec: ModelSpec): pb.IModelProto {
  return {
    irVersion: spec.irVersion ?? 8,
    producerName: 'inferrt-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }, ...(spec.extraOpsets ?? [])],
    graph: { name: 'g', node: spec.nodes, input: spec.inputs, output: spec.outputs, initializer: spec.initializers ?? [] },
    functions: spec.functions ?? [],
  };
}

/** Encodes a model to .onnx bytes. */
export function model(spec: ModelSpec): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(modelProto(spec) as pb.ModelProto)).finish();
}

/**
 * One ONNX node as importers see it: op type, name, the opset it is interpreted at, input/output names and
 * typed attribute accessors that fail with INVALID_MODEL naming the node and attribute.
 */
import type { onnx as pb } from 'onnx-proto';
import { InferrtError } from '../errors.js';
import { toBigInt, toNumber } from './proto.js';

/** AttributeProto.AttributeType values. */
const AttrType = { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const attrTypeNames: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS',
  9: 'TENSORS', 10: 'GRAPHS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS',
};

const textDecoder = new TextDecoder();

/** A NodeProto wrapped for importers. */
export class OnnxNode {
  readonly opType: string;
  /** The node name, or `<OpType>_<index>` when the model leaves it empty. */
  readonly name: string;
  /** '' for the default (ai.onnx) domain. */
  readonly domain: string;
  /** Input names; '' marks an absent optional input. */
  readonly inputs: readonly string[];
  /** Output names; '' marks an unused optional output. */
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, pb.IAttributeProto>;

  constructor(proto: pb.INodeProto, readonly index: number, readonly opset: number) {
    this.opType = proto.opType ?? '';
    this.domain = normalizeDomain(proto.domain ?? '');
    this.name = proto.name || `${this.opType || 'node'}_${index}`;
    this.inputs = [...(proto.input ?? [])];
    this.outputs = [...(proto.output ?? [])];
    const attrs = new Map<string, pb.IAttributeProto>();
    for (const a of proto.attribute ?? []) attrs.set(a.name ?? '', a);
    this.attributes = attrs;
  }

  /** `'name' (OpType)`, how messages refer to the node. */
  get label(): string {
    return `'${this.name}' (${this.opType})`;
  }

  /** An INVALID_MODEL error naming this node. */
  invalid(why: string): InferrtError {
    return new InferrtError('INVALID_MODEL', `node ${this.label}: ${why}`);
  }
  /** An UNSUPPORTED_OP error naming this node, with the standard details entry. */
  unsupported(why: string): InferrtError {
    return new InferrtError('UNSUPPORTED_OP', `node ${this.label}: ${why}`, [
      { opType: this.opType, name: this.name, domain: this.domain, opset: this.opset, reason: why },
    ]);
  }

  has(name: string): boolean {
    return this.attributes.has(name);
  }

  /**
   * INVALID_MODEL when attribute `name` is set at an opset where it has become input `input` (from opset
   * `since`): ignoring it would silently compute something else.
   */
  rejectMovedAttribute(name: string, since: number, input: number): void {
    if (this.opset >= since && this.has(name)) {
      throw this.invalid(`attribute '${name}' is not part of ${this.opType} from opset ${since}; it is input ${input} there`);
    }
  }

  int(name: string, fallback: number): number;
  int(name: string): number | undefined;
  int(name: string, fallback?: number): number | undefined {
    const a = this.typed(name, AttrType.INT);
    return a ? toNumber(a.i) : fallback;
  }
  /** An INT attribute as an exact bigint. */
  bigint(name: string): bigint | undefined {
    const a = this.typed(name, AttrType.INT);
    return a ? toBigInt(a.i) : undefined;
  }
  ints(name: string, fallback: number[]): number[];
  ints(name: string): number[] | undefined;
  ints(name: string, fallback?: number[]): number[] | undefined {
    const a = this.typed(name, AttrType.INTS);
    return a ? (a.ints ?? []).map((v) => toNumber(v)) : fallback;
  }
  /** An INTS attribute as exact bigints (int64 sentinels such as INT64_MAX survive). */
  bigints(name: string): bigint[] | undefined {
    const a = this.typed(name, AttrType.INTS);
    return a ? (a.ints ?? []).map((v) => toBigInt(v)) : undefined;
  }
  float(name: string, fallback: number): number;
  float(name: string): number | undefined;
  float(name: string, fallback?: number): number | undefined {
    const a = this.typed(name, AttrType.FLOAT);
    return a ? (a.f ?? 0) : fallback;
  }
  floats(name: string): number[] | undefined {
    const a = this.typed(name, AttrType.FLOATS);
    return a ? [...(a.floats ?? [])] : undefined;
  }
  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    const a = this.typed(name, AttrType.STRING);
    return a ? textDecoder.decode(a.s ?? new Uint8Array()) : fallback;
  }
  tensor(name: string): pb.ITensorProto | undefined {
    const a = this.typed(name, AttrType.TENSOR);
    if (a && !a.t) throw this.invalid(`attribute '${name}' has no tensor`);
    return a ? a.t! : undefined;
  }

  /** The attribute if present, after checking its type (an unset type is inferred from the filled field). */
  private typed(name: string, type: number): pb.IAttributeProto | undefined {
    const a = this.attributes.get(name);
    if (!a) return undefined;
    const actual = a.type || inferAttrType(a);
    if (actual !== type) {
      throw this.invalid(`attribute '${name}' must be ${attrTypeNames[type]}, got ${attrTypeNames[actual] ?? actual}`);
    }
    return a;
  }
}

/** 'ai.onnx' and '' both name the default domain. */
export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

function own(a: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(a, key);
}

function inferAttrType(a: pb.IAttributeProto): number {
  if ((a.floats?.length ?? 0) > 0) return AttrType.FLOATS;
  if ((a.ints?.length ?? 0) > 0) return AttrType.INTS;
  if ((a.strings?.length ?? 0) > 0) return AttrType.STRINGS;
  if (own(a, 't')) return AttrType.TENSOR;
  if (own(a, 'g')) return AttrType.GRAPH;
  if (own(a, 's')) return AttrType.STRING;
  if (own(a, 'f')) return AttrType.FLOAT;
  if (own(a, 'i')) return AttrType.INT;
  return AttrType.UNDEFINED;
}

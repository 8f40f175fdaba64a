/**
 * Recognizes an engine built by the builder's packed-sequence rewrite (`packedSequences` in the build config) from
 * what its plan says: the packed inputs (input_ids, segment_ids?, cu_seqlens, all int32 [-1]), their profile, and
 * the longest sequence its packed plugins accept (their `max_seq_len` attribute).
 */
import type { EngineLayer, TensorInfo } from '../engine.js';

/** The bounds of a packed-sequence engine ({@link Engine.packedSequences}). */
export interface PackedSequenceInfo {
  /** The longest sequence one request may have (the packed plugins' max_seq_len). */
  maxSequenceLength: number;
  /** The most sequences in one run (cu_seqlens' profile max − 1). */
  maxBatch: number;
  /** The most tokens in one run, all sequences together (input_ids' profile max). */
  maxTokens: number;
  /** Whether the engine takes segment_ids (token types). */
  segmentIds: boolean;
}

/** The plugins of the rewrite that bound a sequence's length. */
const LENGTH_BOUND_PLUGINS = ['PackedEmbLayerNorm', 'PackedAttention'];

/** A flat int32 [-1] input. */
function isFlatIds(t: TensorInfo | undefined): t is TensorInfo {
  return t !== undefined && t.dtype === 'int32' && t.dims.length === 1 && t.dims[0] === -1 && t.profiles.length > 0;
}

/**
 * The packed bounds of an engine whose I/O is `io` and whose layers `layers()` returns (read only when the inputs
 * are the packed ones); undefined for any other engine, including a packed build that fell back to padded.
 */
export function packedSequenceInfo(io: readonly TensorInfo[], layers: () => readonly EngineLayer[]): PackedSequenceInfo | undefined {
  const inputs = io.filter((t) => t.mode === 'input');
  const named = (name: string): TensorInfo | undefined => inputs.find((t) => t.name === name);
  const ids = named('input_ids');
  const cuSeqlens = named('cu_seqlens');
  const segments = named('segment_ids');
  if (!isFlatIds(ids) || !isFlatIds(cuSeqlens) || (segments !== undefined && !isFlatIds(segments))) return undefined;
  if (inputs.length !== (segments ? 3 : 2)) return undefined;
  let maxSequenceLength = Infinity;
  for (const l of layers()) {
    if (!l.plugin || !LENGTH_BOUND_PLUGINS.includes(l.plugin.name)) continue;
    const bound = l.plugin.attributes.max_seq_len;
    if (typeof bound === 'number') maxSequenceLength = Math.min(maxSequenceLength, bound);
  }
  if (maxSequenceLength === Infinity) return undefined;
  // The rewrite makes one profile; a batcher or bench on another profile reads its own ranges.
  return {
    maxSequenceLength,
    maxBatch: cuSeqlens.profiles[0]!.max[0]! - 1,
    maxTokens: ids.profiles[0]!.max[0]!,
    segmentIds: segments !== undefined,
  };
}

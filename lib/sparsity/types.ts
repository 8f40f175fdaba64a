/** The public shapes of `pruneModel`: its options, its per-weight report and its totals. */

/** Options of {@link pruneModel}. */
export interface PruneOptions {
  /**
   * Prune only the weights whose initializer name or reading node's name matches this pattern (a RegExp, or a
   * string compiled with `new RegExp`). Default: every eligible weight.
   */
  layers?: RegExp | string;
  /** How error messages name the model. Default: 'model'. */
  name?: string;
}

/** A node that reads a weight along its reduction dimension. */
export interface PruneWeightUser {
  /** The node's name (`<opType> #<index>` when it has none). */
  node: string;
  opType: 'MatMul' | 'Gemm' | 'Conv';
  /** The weight axis the node reduces over. */
  axis: number;
}

/** What happened to one weight initializer read by a MatMul, Gemm or Conv. */
export interface PrunedLayerReport {
  /** The initializer's name. */
  initializer: string;
  /** The nodes that read it as their weight (one per layer; several when the weight is shared). */
  users: PruneWeightUser[];
  /** 'float32' or 'float16' (other dtypes are skipped and named as ONNX names them, e.g. 'int8'). */
  dtype: string;
  dims: number[];
  /** The reduction axis the 2:4 groups run along (-1 when users disagree). */
  axis: number;
  /** Whether the weight was made 2:4 (false: skipped, see `skipReason`). */
  pruned: boolean;
  /** Why it was left unchanged, e.g. 'reduction length 3 is not a multiple of 4'. */
  skipReason?: string;
  /** Set when nodes other than the layers above read the initializer too (it is pruned for them as well). */
  sharedWith?: string[];
  /** Groups of four consecutive elements along the reduction axis. */
  groups: number;
  /** Non-zero elements set to zero. */
  zeroed: number;
  /** Sum of |w| over the elements set to zero. */
  removedMagnitude: number;
  /** Sum of |w| over the whole weight. */
  totalMagnitude: number;
  /** 100 * removedMagnitude / totalMagnitude (0 for an all-zero weight). */
  removedPercent: number;
}

/** Totals over the pruned weights. */
export interface PruneSummary {
  /** Weights made 2:4. */
  pruned: number;
  /** Weights left unchanged (with a reason). */
  skipped: number;
  zeroed: number;
  removedMagnitude: number;
  totalMagnitude: number;
  /** 100 * removedMagnitude / totalMagnitude over the pruned weights. */
  removedPercent: number;
}

/** The result of {@link pruneModel}. */
export interface PruneResult {
  /** The pruned model's .onnx bytes; everything but the pruned weights' values is kept. */
  model: Uint8Array;
  /** One entry per weight considered (matching `layers` when given), in graph order. */
  layers: PrunedLayerReport[];
  summary: PruneSummary;
}

/** 2:4 structured sparsity tools that work on ONNX models (no native code). */
export { pruneModel } from './prune-model.js';
export type { PruneOptions, PruneResult, PruneSummary, PrunedLayerReport, PruneWeightUser } from './types.js';

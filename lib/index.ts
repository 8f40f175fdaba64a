/**
 * inferrt: TensorRT-style inference engines for Node.js. ONNX in, optimized plan out, run from TypeScript.
 *
 * ```ts
 * import { Builder, OnnxParser, Runtime } from 'inferrt';
 * const builder = new Builder();
 * const network = builder.createNetwork();
 * await OnnxParser.parseFile(network, 'model.onnx');
 * const plan = await builder.build(network, builder.createConfig({ profiles: [...] }));
 * using engine = await Runtime.load(plan);
 * using ctx = engine.createContext();
 * const outputs = await ctx.infer({ input: tensor(data, [1, 3, 224, 224]) });
 * ```
 * @packageDocumentation
 */

export { InferrtError, DisposedError, type ErrorCode } from './errors.js';
export {
  DTYPES, allocate, bytesOf, dtypeOfData, dtypeSize, floatToHalfBits, fromFloat16Bits, halfBitsToFloat, matchesDType,
  toFloat16Bits, viewBytes, type DType, type TensorData, type TypedArrayFor,
} from './dtypes.js';
export { tensor, shapeSize, type NaturalDType, type Tensor, type TensorInput, type TensorLike } from './tensor.js';
export {
  Layer, NetworkDefinition, NetworkTensor,
  type ActivationOp, type AttentionLayout, type AttentionParams, type AutoPad, type ConvolutionParams, type ElementWiseOp,
  type LayerOptions, type LayerPrecision, type PoolingMode, type PoolingParams, type QuantizeParams, type ReduceOp,
  type TensorOrInts, type UnaryOp, type WindowParams,
} from './network.js';
export type { NativeAttributes as LayerAttributes, NativeAttrValue as LayerAttributeValue } from './binding.js';
export { BuilderConfig, type BuilderConfigOptions, type OptimizationProfile, type PackedSequenceOptions, type Precision, type ShapeRange } from './config.js';
export { Builder, type BuildOptions, type BuildProgress, type BuilderOptions, type LogSeverity, type Logger } from './builder.js';
export { Plan } from './plan.js';
export { Runtime } from './runtime.js';
export { Engine, type ContextOptions, type CudnnPlansInfo, type EngineInfo, type EngineLayer, type LayerSparsityInfo, type PluginLayerInfo, type TensorInfo } from './engine.js';
export { ExecutionContext, type LayerTimes } from './context.js';
export { plugins, hasPlugin, type PluginInfo } from './plugins.js';
export { backends, backendSupports, cudaCompiled, cudaDevices, layerKinds, version, type Backend, type CudaDevice } from './backends.js';
export {
  DeviceBuffer, Event, HostBuffer, Stream, cuda, cudaAvailable, memoryInfo,
  type DeviceBufferOptions, type HostMemory, type MemoryInfo,
} from './cuda.js';
export { OnnxParser, type OnnxParseOptions, type OnnxParseProgress, type OnnxParseResult, type UnsupportedNode } from './onnx/index.js';
export {
  createBatcher, DEFAULT_MAX_DELAY_MS, DEFAULT_MAX_QUEUE, type Batcher, type BatcherInputs, type BatcherOptions, type BatcherStats, type SequenceInput,
} from './batcher/index.js';
export { pruneModel, type PruneOptions, type PruneResult, type PruneSummary, type PrunedLayerReport, type PruneWeightUser } from './sparsity/index.js';
export {
  CALIBRATION_CACHE_FORMAT_VERSION, KNOWN_CALIBRATION_ALGORITHMS, amaxOf, formatCalibrationCache, parseCalibrationCache,
  readCalibrationCacheFile, scaleOfAmax, tryReadCalibrationCacheFile, writeCalibrationCacheFile,
  type CalibrationAlgorithm, type CalibrationCache, type CalibrationCacheContents, type CalibrationCacheFormat,
} from './int8/index.js';
export {
  AmaxHistogram, DEFAULT_HISTOGRAM_BINS, DEFAULT_QUANT_BINS, MAX_ENTROPY_BINS, MAX_HISTOGRAM_BINS, entropyAmax, minMaxAmax, percentileAmax,
  type AmaxHistogramOptions, type HistogramCounts,
} from './int8/statistics.js';
export {
  packSequences, unpackSequences, type PackedRows, type PackedSequences, type PackOptions, type SequenceRequest,
} from './packing/pack-sequences.js';
export type { PackedSequenceInfo } from './packing/packed-engine.js';
export {
  Calibrator, EntropyCalibrator, MinMaxCalibrator, PercentileCalibrator, type CalibrationBatch, type CalibrationBatches,
  type CalibratorOptions, type EntropyCalibratorOptions, type PercentileCalibratorOptions, type TensorStatistic,
} from './int8/calibrators.js';

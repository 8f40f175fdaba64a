/**
 * The one typed loader of the native addon, and the shape of what it exports. Everything else in lib/
 * talks to native code through `addon` only; once loaded, native code throws {@link InferrtError} directly. A local build (build/Release) wins over a prebuilt binary
 * (prebuilds/); set INFERRT_ADDON_PATH to load a specific .node file instead.
 * @internal
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferrtError } from './errors.js';

/** Attribute values as they cross into native code (integral numbers become int64 there). */
export type NativeAttrValue = number | bigint | string | number[] | bigint[];
export type NativeAttributes = Record<string, NativeAttrValue>;

export interface NativeTensorInfo {
  name: string;
  dtype: number;
  dims: number[];
  isInput: boolean;
  isOutput: boolean;
  isConstant: boolean;
  /** Contents when known at definition time (constants, folded shape values), as raw bytes. */
  hasValue: boolean;
  producer: number;
}

export interface NativeLayerInfo {
  kind: string;
  name: string;
  inputs: number[];
  outputs: number[];
  attrs: NativeAttributes;
  precision: number;
}

export interface NativeNetwork {
  addInput(name: string, dtype: number, dims: number[]): number;
  /** `data` is copied. */
  addConstant(name: string, dtype: number, dims: number[], data: Uint8Array): number;
  addLayer(kind: string, name: string, inputs: number[], attrs: NativeAttributes, numOutputs: number): number[];
  markOutput(tensor: number): void;
  unmarkOutput(tensor: number): void;
  renameTensor(tensor: number, name: string): void;
  setLayerPrecision(layer: number, precision: number): void;
  tensorInfo(tensor: number): NativeTensorInfo;
  /** Raw bytes of a tensor whose value is known, else null. */
  tensorValue(tensor: number): Uint8Array | null;
  layerInfo(layer: number): NativeLayerInfo;
  numTensors(): number;
  numLayers(): number;
  inputs(): number[];
  outputs(): number[];
  findTensor(name: string): number;
  uniqueLayerName(base: string): string;
  dispose(): void;
}

export interface NativeShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

export interface NativeBuildConfig {
  fp16: boolean;
  int8: boolean;
  tf32: boolean;
  sparseWeights: boolean;
  sparseForce?: boolean;
  approximateGelu?: boolean;
  workspaceBytes: number;
  backend: string;
  /** The channels-last pass: true / false, or 'auto' (default when absent: on for cuda + fp16). */
  channelsLast?: boolean | 'auto';
  profiles: Array<Record<string, NativeShapeRange>>;
  /** Time cuBLASLt algorithms per GEMM on CUDA builds (default true). */
  tacticTiming?: boolean;
  /** Timing cache file read at the start of the build and written back at its end (default none). */
  timingCache?: string;
  /** INT8 activation scales (amax / 127) by tensor name, from calibration or a calibration cache. */
  int8Scales?: Record<string, number>;
  /** Packed-sequence BERT bounds, every field resolved (lib/config.ts). */
  packedSequences?: { maxSequenceLength: number; maxBatch: number; maxTokens: number; optTokens: number; optBatch: number };
}

export interface NativeBuildProgress {
  stage: string;
  /** 0..1 over the whole build. */
  fraction: number;
  message: string;
}

export interface NativeBuildResult {
  plan: Uint8Array;
  log: string[];
}

export interface NativeIOTensor {
  name: string;
  dtype: number;
  /** -1 for dynamic dims. */
  dims: number[];
  mode: 'input' | 'output';
  /** Per profile, for inputs: the allowed range. */
  profiles: NativeShapeRange[];
}

export interface NativeEngineLayer {
  name: string;
  kind: string;
  precision: string;
  inputs: string[];
  outputs: string[];
  runsOn: 'cuda' | 'cpu';
  fallbackReason?: string;
  /** The plan's tactic for the layer (its description), when it has one. */
  tactic?: string;
  channelsLast?: true;
  /** The plan's sparsity record for the layer (sparseWeights builds; MatMul / Convolution layers with constant weights). */
  sparsity?: { eligible: boolean; sparse: boolean; note?: string; denseMs?: number; sparseMs?: number };
  /** Plugin layers: the registered plugin and the layer's scalar attributes (lists left out). */
  plugin?: { name: string; version: string; attributes: Record<string, number | string> };
}

export interface NativeEngine {
  ioTensors(): NativeIOTensor[];
  numProfiles(): number;
  /** Plan header fields and build config summary. */
  info(): { formatVersion: number; libraryVersion: string; backend: string; gpuArch: string; precision: string[]; planBytes: number; weightBytes: number; deviceMemorySize: number; device?: number; cudnnPlans?: { count: number; used: boolean; note: string } };
  layers(): NativeEngineLayer[];
  createContext(): NativeContext;
  dispose(): void;
}

export interface NativeHostTensor {
  dtype: number;
  dims: number[];
  /** Raw little-endian bytes, row-major. */
  data: Uint8Array;
}

export interface NativeContext {
  setOptimizationProfile(index: number): void;
  getOptimizationProfile(): number;
  /** Validates against the active profile; throws SHAPE_MISMATCH naming the input, dims and range. */
  setInputShape(name: string, dims: number[]): void;
  /** Current dims of an input or output (outputs resolved from the input shapes set so far; -1 if unknown). */
  getTensorShape(name: string): number[];
  /** Runs off the main thread; inputs are copied before it returns. */
  infer(inputs: Record<string, NativeHostTensor>): Promise<Record<string, NativeHostTensor>>;
  /** Device memory of this context (activation arena for the active profile's largest shapes, scratch). */
  deviceMemorySize(): number;
  /** CUDA graphs on or off for this context's later runs (no effect on the CPU backend). */
  setCudaGraphs(enabled: boolean): void;
  /** Per-layer GPU timing of later runs on or off (CUDA only). */
  setProfiling(enabled: boolean): void;
  layerTimes(): { runs: number; msByKind: Record<string, number>; msByLayer: Record<string, number> };
  /** Binds an I/O tensor to a device buffer (null unbinds); CUDA builds only. */
  setTensorAddress(name: string, buffer: NativeDeviceBuffer | null): void;
  /** Resolves once a run over the bound buffers is enqueued on the stream. */
  enqueue(stream: NativeCudaStream): Promise<void>;
  dispose(): void;
}

export interface NativeCudaDevice {
  index: number;
  name: string;
  /** 'sm_90' style. */
  arch: string;
  major: number;
  minor: number;
  totalMemory: number;
  multiProcessors: number;
}

/** A CUDA stream (addon/cuda/addon_stream.h). */
export interface NativeCudaStream {
  device(): number;
  /** Resolves once the work enqueued so far has finished (a host function behind it; no blocking). */
  synchronize(): Promise<void>;
  waitEvent(event: NativeCudaEvent): void;
  dispose(): void;
}

/** A timing-capable CUDA event (addon/cuda/addon_event.h). */
export interface NativeCudaEvent {
  device(): number;
  /** The stream must be on the event's device. */
  record(stream: NativeCudaStream): void;
  /** Whether the recorded work has finished (true if never recorded). */
  done(): boolean;
  synchronize(): Promise<void>;
  dispose(): void;
}

/** Pinned host memory seen from JS as one ArrayBuffer (addon/cuda/addon_host_buffer.h). */
export interface NativeHostBuffer {
  byteLength(): number;
  /** The same ArrayBuffer each call; detached by dispose(). */
  buffer(): ArrayBuffer;
  dispose(): void;
}

/** Device memory (addon/cuda/addon_device_buffer.h). */
export interface NativeDeviceBuffer {
  byteLength(): number;
  device(): number;
  /** Copies all of `source` to `offset`; a typed array is staged (copied) before this returns. */
  upload(source: ArrayBufferView | NativeHostBuffer, stream: NativeCudaStream, offset: number): Promise<void>;
  /** Fills all of `destination` from `offset`; `destination` is written when the Promise resolves. */
  download(destination: ArrayBufferView | NativeHostBuffer, stream: NativeCudaStream, offset: number): Promise<void>;
  dispose(): void;
}

export interface NativePluginInfo {
  name: string;
  version: string;
  description: string;
}

/** A timing cache entry as the testing hooks see it (native/builder/timing_cache.h). */
export interface NativeTimingCacheEntry {
  device: string;
  arch: string;
  cublasLtVersion: number;
  gemmKey: string;
  /** The cublasLtMatmulAlgo_t's 8 words as 128 hex digits. */
  algo: string;
  timeMs: number;
}

/** A plan's tactic record (native/plan/tactics.h). */
export interface NativeLayerTactic {
  layer: number;
  gemmKey: string;
  /** The cublasLtMatmulAlgo_t's 8 words as 128 hex digits. */
  algo: string;
  cublasLtVersion: number;
  timeMs: number;
  description: string;
}

/** A plan's sparsity record (native/plan/sparsity.h). */
export interface NativeLayerSparsity {
  layer: number;
  eligible: boolean;
  sparse: boolean;
  anyShape?: boolean;
  note: string;
  denseMs: number;
  sparseMs: number;
  gemmKey: string;
  cusparseLtVersion: number;
  algConfigId: number;
  splitK: number;
  splitKMode: number;
  splitKBuffers: number;
  compressed: Uint8Array;
}

/** The cuDNN plans a CUDA INT8 build chose (native/plan/cudnn_choices.h). */
export interface NativeCudnnChoices {
  cudnnVersion: number;
  device: string;
  entries: { problem: number[]; configIndex: number; configCount: number; json: string }[];
}

/**
 * Testing-only hooks (addon.testing, native/addon/addon_testing.cc): CPU tests of code the public API reaches
 * only through a CUDA build. Not part of the public API.
 */
export interface NativeTesting {
  /** Parses timing cache text as the builder reads a cache file; INVALID_ARGUMENT naming `file` and the line. */
  parseTimingCache(text: string, file: string): NativeTimingCacheEntry[];
  /** The text the builder writes for these entries. */
  serializeTimingCache(entries: NativeTimingCacheEntry[]): string;
  /** What a CUDA build does with its cache file: read (missing = empty), add `entries`, write back. Returns the entries written. */
  updateTimingCacheFile(path: string, entries: NativeTimingCacheEntry[]): NativeTimingCacheEntry[];
  /** The tactic records of a plan, read by the plan reader (the whole plan validated; BAD_PLAN on any fault). */
  planTactics(plan: Uint8Array): NativeLayerTactic[];
  /** The plan re-written by the plan writer with these tactic records (written as given, unchecked). */
  withPlanTactics(plan: Uint8Array, tactics: NativeLayerTactic[]): Uint8Array;
  /** The sparsity records of a plan, read by the plan reader (the whole plan validated; BAD_PLAN on any fault). */
  planSparsity(plan: Uint8Array): NativeLayerSparsity[];
  /** The plan re-written by the plan writer with these sparsity records (written as given, unchecked). */
  withPlanSparsity(plan: Uint8Array, records: NativeLayerSparsity[]): Uint8Array;
  /** The cuDNN plan choices of a plan, read by the plan reader (the whole plan validated; BAD_PLAN on any fault). */
  planCudnnChoices(plan: Uint8Array): NativeCudnnChoices;
  /** The plan re-written by the plan writer with these cuDNN plan choices (written as given, unchecked). */
  withPlanCudnnChoices(plan: Uint8Array, choices: NativeCudnnChoices): Uint8Array;
}

/** The state of a native |x| histogram (native/int8/amax_histogram.h). Counts are exact below 2^53. */
export interface NativeAmaxHistogramSummary {
  bins: number;
  /** The histogram covers [0, range]; 0 while every finite value seen is 0. */
  range: number;
  binWidth: number;
  maxAbs: number;
  count: number;
  nanCount: number;
  infCount: number;
}

/** A histogram of |x| for INT8 calibration (addon/addon_int8.cc). */
export interface NativeAmaxHistogram {
  /** Float32Array, or Uint16Array of float16 bits; runs on the calling thread, O(length). */
  add(data: Float32Array | Uint16Array): void;
  /** A copy of the bin counts. */
  counts(): Float64Array;
  summary(): NativeAmaxHistogramSummary;
  /** Releases the bins; later calls throw DISPOSED. */
  dispose(): void;
}

/** INT8 calibration statistics (addon.int8, native/int8/). Arguments are checked again natively (INVALID_ARGUMENT). */
export interface NativeInt8 {
  AmaxHistogram: new (bins: number, initialRange: number) => NativeAmaxHistogram;
  entropyThreshold(counts: Float64Array, binWidth: number, quantBins: number): number;
  percentileThreshold(counts: Float64Array, binWidth: number, percentile: number): number;
  minMaxThreshold(maxAbs: number): number;
}

export interface NativeAddon {
  version(): string;
  /** Backends compiled in and usable now: always 'cpu'; 'cuda' when built with CUDA and a GPU is visible. */
  backends(): string[];
  /** Whether the CUDA part was compiled in (whether or not a GPU is visible). */
  cudaCompiled(): boolean;
  /** GPUs visible now; empty without CUDA. */
  cudaDevices(): NativeCudaDevice[];
  /** Registers the JS class native errors are created as: new ErrorClass(code, message). */
  setErrorClass(ctor: new (code: string, message: string) => Error): void;
  /** Layer kinds the IR defines, and per backend which it supports. */
  layerKinds(): string[];
  backendSupports(backend: string, kind: string): boolean;
  /** The CUDA backend's activation-arena planner (for tests). */
  planArena(requests: Array<{ bytes: number; first: number; last: number }>): { offsets: number[]; totalBytes: number };
  plugins(): NativePluginInfo[];
  createNetwork(): NativeNetwork;
  /** Runs off the main thread; progress arrives on the main thread. */
  buildPlan(network: NativeNetwork, config: NativeBuildConfig, onProgress: ((p: NativeBuildProgress) => void) | null): Promise<NativeBuildResult>;
  /** Parses and validates a plan off the main thread; BAD_PLAN on any fault. */
  loadEngine(plan: Uint8Array): Promise<NativeEngine>;
  /** INT8 calibration statistics; see {@link NativeInt8}. */
  int8: NativeInt8;
  /** Testing-only hooks; see {@link NativeTesting}. */
  testing: NativeTesting;

  // The CUDA runtime classes: present only when the addon was built with CUDA (cudaCompiled()).
  CudaStream?: new (device: number) => NativeCudaStream;
  CudaEvent?: new (device: number) => NativeCudaEvent;
  /** OUT_OF_MEMORY naming the size and device when cudaMalloc fails. */
  DeviceBuffer?: new (bytes: number, device: number) => NativeDeviceBuffer;
  HostBuffer?: new (bytes: number) => NativeHostBuffer;
  /** Milliseconds between two completed events of one device. */
  cudaElapsedMs?(start: NativeCudaEvent, end: NativeCudaEvent): number;
  /** cudaMemGetInfo: free and total bytes. */
  cudaMemoryInfo?(device: number): { free: number; total: number };
  /** GPU-suite hook: INT8 cuDNN graph plans searched and replayed from a choice in this process. */
  cudnnPlanCounts?(): { searches: number; replays: number };
  /**
   * GPU-suite hook: one cuSPARSELt 2:4 GEMM y[m,n] = x[m,k]·w[n,k]ᵀ from host bytes (fp16 → fp16, int8 → int32)
   * with kernel configuration `configId` (-1: the library's default), and how many configurations there are.
   */
  cudaSparseGemmTest?(type: 'fp16' | 'int8', x: ArrayBufferView, w: ArrayBufferView, m: number, n: number, k: number, configId: number, device: number): Promise<{ y: Uint8Array; configCount: number }>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.resolve(here, '..');
const require = createRequire(import.meta.url);

function loadAddon(): NativeAddon {
  const explicit = process.env.INFERRT_ADDON_PATH;
  if (explicit) {
    try {
      return require(path.resolve(explicit)) as NativeAddon;
    } catch (e) {
      throw new InferrtError('ADDON_NOT_FOUND', `inferrt: cannot load the addon INFERRT_ADDON_PATH names ('${explicit}'): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const errors: string[] = [];
  try {
    // Local builds first: cmake-js and node-gyp both write build/Release/inferrt.node.
    const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => NativeAddon;
    return bindings({ bindings: 'inferrt.node', module_root: packageRoot });
  } catch (e) {
    errors.push(`local build: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    return nodeGypBuild(packageRoot);
  } catch (e) {
    errors.push(`prebuilt: ${(e as Error).message.split('\n')[0]}`);
  }
  throw new InferrtError(
    'ADDON_NOT_FOUND',
    `inferrt: could not load the native addon. Run \`npm install\` (or \`npm run build:native\`) to build it.\n  ${errors.join('\n  ')}`,
  );
}

/** The loaded addon; native errors are created as {@link InferrtError} from here on. */
export const addon: NativeAddon = loadAddon();
addon.setErrorClass(InferrtError);

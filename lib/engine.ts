/**
 * Engine: a loaded plan (TensorRT's ICudaEngine) — weights in memory, I/O metadata, the layers as built.
 * Create with `Runtime.load()`; run it through an {@link ExecutionContext} from `engine.createContext()`.
 * All contexts of an engine share its weights.
 */
import type { NativeEngine } from './binding.js';
import type { Backend } from './backends.js';
import { checkOptions, formatValue, optionalBoolean, type ShapeRange } from './config.js';
import { didYouMean } from './suggest.js';
import { ExecutionContext, checkProfileIndex } from './context.js';
import { dtypeFromCode, type DType } from './dtypes.js';
import { DisposedError, InferrtError } from './errors.js';
import { packedSequenceInfo, type PackedSequenceInfo } from './packing/packed-engine.js';

/** An input or output of an engine. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  /** Dims as built; -1 where the dim is chosen at run time (inputs) or follows from the inputs (outputs). */
  dims: number[];
  mode: 'input' | 'output';
  /** For inputs, the allowed shape range in each optimization profile (index = profile); empty for outputs. */
  profiles: ShapeRange[];
}

/** What a plan's header and build config say about an engine. */
export interface EngineInfo {
  /** Plan format version. */
  formatVersion: number;
  /** The inferrt version that built the plan. */
  libraryVersion: string;
  backend: Backend;
  /** GPU architecture the plan is bound to (e.g. 'sm_90'); '' for CPU plans. */
  gpuArch: string;
  /** The precisions the plan was built with, e.g. ['fp32', 'tf32']. */
  precision: string[];
  /** Size of the plan in bytes. */
  planBytes: number;
  /** Bytes of weights the engine holds. */
  weightBytes: number;
  /** Bytes of device memory the engine holds (its weights on the GPU); 0 on the CPU backend. */
  deviceMemorySize: number;
  /** The CUDA device a CUDA engine runs on. */
  device?: number;
  /**
   * Plans of CUDA INT8 builds (with tactic timing) whose INT8 layers run cuDNN graphs: the cuDNN execution plans the
   * build chose.
   */
  cudnnPlans?: CudnnPlansInfo;
}

/**
 * The cuDNN execution plans a CUDA INT8 build chose for its INT8 layers' cuDNN graphs ({@link EngineInfo.cudnnPlans}).
 * The build runs the engine once at the first profile's opt shapes to choose them; an engine that uses them skips
 * cuDNN's search at its first run (seconds to minutes for big models). Other shapes are searched at their first run.
 */
export interface CudnnPlansInfo {
  /** How many distinct cuDNN problems the plan has a choice for. */
  count: number;
  /**
   * Whether this engine replays them: only on the GPU model, with the cuDNN version and from a plan of the inferrt
   * version that chose them.
   */
  used: boolean;
  /** Why it does not ('' when it does), e.g. "chosen with cuDNN 9.14.0, this process has 9.16.0". */
  note: string;
}

/**
 * What a `sparseWeights` build found for a MatMul or Convolution layer with constant weights
 * ({@link EngineLayer.sparsity}), including the INT8 builds' QuantizedMatMul (by its int8 weights). The builder
 * never prunes: a weight qualifies only when it already has at most two non-zeros in every four consecutive
 * elements along the dimension the layer reduces over (a MatMul's K, a Convolution's input channels); `inferrt
 * prune` makes weights 2:4, and INT8 quantization keeps them so.
 */
export interface LayerSparsityInfo {
  /** The weights are 2:4 along the reduction dimension, so a sparse kernel could run the layer. */
  eligible: boolean;
  /** The layer runs a 2:4 sparse kernel (CUDA engines whose builder timed it faster than dense). Implies `eligible`. */
  sparse: boolean;
  /**
   * Why the layer stays dense, e.g. "not 2:4: 37 of 65536 groups of four have 3 or 4 non-zeros", "reduction length
   * 30 is not a multiple of 4" or "2:4 along the output dimension, not the reduction dimension".
   */
  note?: string;
  /** The dense and sparse kernels' times in ms at the first profile's opt shapes, where the CUDA builder timed them. */
  denseMs?: number;
  sparseMs?: number;
}

/** A layer of the built engine, after fusion and precision assignment (what `inferrt inspect` prints). */
export interface EngineLayer {
  name: string;
  kind: string;
  /** The precision the layer runs in, e.g. 'fp32', 'fp16'. */
  precision: string;
  /** Names of the tensors it reads and writes. */
  inputs: string[];
  outputs: string[];
  /** Where the layer runs: `'cuda'` (a GPU kernel, or no work at all: views and shapes) or `'cpu'` (the CPU reference kernel; on a CUDA engine, with copies to and from the device). */
  runsOn: 'cuda' | 'cpu';
  /** On a CUDA engine, why a layer runs on the CPU kernel (e.g. "no CUDA kernel for Plugin"). */
  fallbackReason?: string;
  /**
   * The tactic the builder chose for this layer and recorded in the plan, described, e.g. "algo 21, tile
   * 128x256, stages 64x3, split-K 1, reduction 0, swizzle 1, custom 0": the fastest cuBLASLt algorithm timed
   * for a MatMul (or FullyConnected plugin) layer's GEMM at the first profile's opt shapes. Runs at those shapes use it (when the loaded
   * cuBLASLt is the version that chose it and accepts it); other shapes use cuBLASLt's heuristic. Undefined when
   * the plan has none for the layer (CPU plans, layers that are not GEMMs, builds with `tacticTiming: false`);
   * the CPU backend ignores tactics.
   */
  tactic?: string;
  /** Set on Convolution, QuantizedConvolution and Pooling layers the builder's channels-last pass made NHWC (attribute channels_last = 1). */
  channelsLast?: true;
  /**
   * Builds with `sparseWeights`: whether this MatMul / QuantizedMatMul / Convolution layer's constant weights are
   * 2:4 along its reduction dimension and whether it runs sparse. Undefined for other layers, layers whose weights
   * are not constant, and engines built without `sparseWeights`.
   */
  sparsity?: LayerSparsityInfo;
  /** Plugin layers: the plugin they run. Undefined for other layers. */
  plugin?: PluginLayerInfo;
}

/** The plugin a Plugin layer runs ({@link EngineLayer.plugin}). */
export interface PluginLayerInfo {
  /** The registered plugin's name, e.g. 'PackedAttention'. */
  name: string;
  /** Its registered version, e.g. '1'. */
  version: string;
  /** The layer's scalar attributes (numbers and strings, e.g. max_seq_len), by name; list attributes are left out. */
  attributes: Record<string, number | string>;
}

/** Options of `engine.createContext()`. Unknown keys are rejected. */
export interface ContextOptions {
  /** The optimization profile the context starts with. Default `0`. */
  profile?: number;
  /**
   * CUDA engines: capture each input-shape signature's run into a CUDA graph on its second run and replay it
   * after (a shape or buffer change captures a new one). Default `true`; `false` launches every kernel each run.
   * Ignored on the CPU backend.
   */
  cudaGraphs?: boolean;
  /**
   * CUDA engines: time every layer of each run with CUDA events (graphs are off while profiling, and each run is
   * a little slower) so `context.layerTimes()` can say where the time goes. Default `false`.
   */
  profileLayers?: boolean;
}

/**
 * A loaded engine. Dispose it (or use `using`) to free its weights; that disposes its contexts too. If you
 * forget, the addon's own finalizers free the memory when the object is garbage-collected (no JS registry here,
 * so nothing is freed twice).
 */
export class Engine implements Disposable {
  #native: NativeEngine | null;
  readonly #io: TensorInfo[];
  readonly #info: EngineInfo;
  readonly #numProfiles: number;
  readonly #packed: PackedSequenceInfo | undefined;
  #contexts = new Set<WeakRef<ExecutionContext>>();

  /** @internal Engines come from `Runtime.load()`. */
  constructor(native: NativeEngine) {
    this.#native = native;
    this.#io = native.ioTensors().map((t) => ({
      name: t.name,
      dtype: dtypeFromCode(t.dtype),
      dims: [...t.dims],
      mode: t.mode,
      profiles: t.mode === 'input' ? t.profiles.map((r) => ({ min: [...r.min], opt: [...r.opt], max: [...r.max] })) : [],
    }));
    const info = native.info();
    this.#info = { ...info, backend: info.backend as Backend, precision: [...info.precision] };
    this.#numProfiles = native.numProfiles();
    this.#packed = packedSequenceInfo(this.#io, () => native.layers());
  }

  /** @internal */
  native(): NativeEngine {
    if (!this.#native) throw new DisposedError('Engine');
    return this.#native;
  }

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.#native === null;
  }

  /** The inputs, in network order. */
  get inputs(): TensorInfo[] {
    return this.#io.filter((t) => t.mode === 'input').map(copyInfo);
  }
  /** The outputs, in the order they were marked. */
  get outputs(): TensorInfo[] {
    return this.#io.filter((t) => t.mode === 'output').map(copyInfo);
  }
  /** Names of all inputs then all outputs. */
  get ioTensorNames(): string[] {
    return this.#io.map((t) => t.name);
  }

  /** One input or output by name; INVALID_ARGUMENT listing the names there are when `name` is not one. */
  getTensorInfo(name: string): TensorInfo {
    const t = this.#io.find((x) => x.name === name);
    if (!t) {
      const names = this.#io.map((x) => x.name);
      throw new InferrtError('INVALID_ARGUMENT', `getTensorInfo: the engine has no tensor ${formatValue(name)}${typeof name === 'string' ? didYouMean(name, names) : ''}; inputs: ${this.inputNames().join(', ')}; outputs: ${this.outputNames().join(', ')}`);
    }
    return copyInfo(t);
  }

  /** Number of optimization profiles (at least 1). */
  get numProfiles(): number {
    return this.#numProfiles;
  }

  /**
   * The bounds of an engine built by the packed-sequence rewrite (`packedSequences` in the build config): inputs
   * input_ids [T], segment_ids [T] (when `segmentIds`) and cu_seqlens [B + 1]. Undefined for every other engine,
   * including a packed build that kept the padded engine. `createBatcher` packs single-sequence requests into
   * such an engine. Readable after `dispose()`, like the I/O metadata.
   */
  get packedSequences(): PackedSequenceInfo | undefined {
    return this.#packed && { ...this.#packed };
  }

  /** Plan header and build summary. */
  get info(): EngineInfo {
    this.native();
    const { cudnnPlans } = this.#info;
    return { ...this.#info, precision: [...this.#info.precision], ...(cudnnPlans && { cudnnPlans: { ...cudnnPlans } }) };
  }

  /** The layers as built (after fusion), in execution order. */
  get layers(): EngineLayer[] {
    return this.native().layers();
  }

  /**
   * Device memory the engine holds, in bytes. 0 on the CPU backend (weights live in host memory); on CUDA, the
   * weights uploaded to the device (each context's activation arena comes on top).
   */
  get deviceMemorySize(): number {
    return this.#info.deviceMemorySize;
  }

  /** A new execution context: its own input shapes, active profile and activation memory; weights are shared. */
  createContext(options: ContextOptions = {}): ExecutionContext {
    const native = this.native();
    checkOptions(options, ['profile', 'cudaGraphs', 'profileLayers'], 'createContext');
    const profile = options.profile ?? 0;
    checkProfileIndex(profile, this.#numProfiles, 'createContext: profile');
    const cudaGraphs = optionalBoolean(options.cudaGraphs, 'createContext: cudaGraphs') ?? true;
    const nativeContext = native.createContext();
    if (!cudaGraphs) nativeContext.setCudaGraphs(false);
    if (optionalBoolean(options.profileLayers, 'createContext: profileLayers')) nativeContext.setProfiling(true);
    const ctx = new ExecutionContext(this, nativeContext);
    if (profile !== 0) ctx.setOptimizationProfile(profile);
    for (const ref of this.#contexts) if (!ref.deref()) this.#contexts.delete(ref);
    this.#contexts.add(new WeakRef(ctx));
    return ctx;
  }

  /**
   * Frees the engine and disposes its contexts. Inference already running finishes first (the native engine is
   * released once it has); `createContext`, `info` and `layers` afterwards throw DisposedError, while the I/O
   * tensor metadata read at load (names, dtypes, dims, profiles) stays readable. Safe to call twice.
   */
  dispose(): void {
    const native = this.#native;
    if (!native) return;
    this.#native = null;
    const drained: Array<Promise<void>> = [];
    for (const ref of this.#contexts) {
      const ctx = ref.deref();
      if (ctx) drained.push(ctx.disposeAndDrain());
    }
    this.#contexts.clear();
    if (drained.length === 0) native.dispose();
    else void Promise.all(drained).then(() => native.dispose());
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  inputInfo(name: string): TensorInfo | undefined {
    return this.#io.find((t) => t.name === name && t.mode === 'input');
  }
  /** @internal */
  inputNames(): string[] {
    return this.#io.filter((t) => t.mode === 'input').map((t) => t.name);
  }
  /** @internal */
  outputNames(): string[] {
    return this.#io.filter((t) => t.mode === 'output').map((t) => t.name);
  }
}

function copyInfo(t: TensorInfo): TensorInfo {
  return { ...t, dims: [...t.dims], profiles: t.profiles.map((r) => ({ min: [...r.min], opt: [...r.opt], max: [...r.max] })) };
}

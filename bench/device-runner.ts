/**
 * Runs one engine on a series of batches of different shapes with GPU-only timing: one context, one stream and one
 * device buffer per input and output, sized for the largest batch and bound once, so every batch only uploads its
 * inputs and sets its shapes. Used by bench/gpu-bert-packed.ts.
 */
import {
  DeviceBuffer, Event, Stream, allocate, dtypeSize, shapeSize, type Engine, type ExecutionContext, type Tensor,
} from '../lib/index.js';

/** Untimed runs of each batch before its timed ones (the first run of a shape plans it and captures its CUDA graph). */
const WARMUP = 2;

export class DeviceRunner implements Disposable {
  readonly ctx: ExecutionContext;
  readonly #engine: Engine;
  readonly #stream = new Stream();
  readonly #buffers = new Map<string, DeviceBuffer>();

  /** Sizes the buffers for the largest of `batches` (each: every input of the engine, by name). */
  constructor(engine: Engine, batches: ReadonlyArray<Record<string, Tensor>>) {
    this.#engine = engine;
    this.ctx = engine.createContext();
    const bytes = new Map<string, number>();
    const grow = (name: string, n: number): void => void bytes.set(name, Math.max(bytes.get(name) ?? 0, n));
    try {
      for (const feeds of batches) {
        for (const [name, t] of Object.entries(feeds)) {
          this.ctx.setInputShape(name, t.shape);
          grow(name, t.data.byteLength);
        }
        for (const out of engine.outputs) grow(out.name, this.#outputElements(out.name) * dtypeSize(out.dtype));
      }
      for (const [name, n] of bytes) {
        const buffer = DeviceBuffer.alloc(Math.max(n, 1));
        this.#buffers.set(name, buffer);
        this.ctx.setTensorAddress(name, buffer);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  get engine(): Engine {
    return this.#engine;
  }

  /**
   * Uploads `feeds`, runs them WARMUP times untimed, copies the outputs back (for checks), then times `reps` runs,
   * each between two CUDA events on the stream; returns the median milliseconds and the outputs.
   */
  async run(feeds: Record<string, Tensor>, reps: number): Promise<{ ms: number; outputs: Record<string, Tensor> }> {
    for (const [name, t] of Object.entries(feeds)) {
      await this.#buffer(name).upload(t.data, this.#stream);
      this.ctx.setInputShape(name, t.shape);
    }
    for (let i = 0; i < WARMUP; i++) await this.ctx.enqueue(this.#stream);
    await this.#stream.synchronize();
    const outputs: Record<string, Tensor> = {};
    for (const out of this.#engine.outputs) {
      const shape = this.ctx.getTensorShape(out.name);
      const data = allocate(out.dtype, this.#outputElements(out.name));
      await this.#buffer(out.name).download(data, this.#stream);
      outputs[out.name] = { dtype: out.dtype, shape, data } as Tensor;
    }
    const times: number[] = [];
    using start = new Event(), end = new Event();
    for (let i = 0; i < Math.max(1, reps); i++) {
      start.record(this.#stream);
      await this.ctx.enqueue(this.#stream);
      end.record(this.#stream);
      await end.synchronize();
      times.push(Event.elapsedMs(start, end));
    }
    times.sort((a, b) => a - b);
    return { ms: times[times.length >> 1]!, outputs };
  }

  dispose(): void {
    if (!this.ctx.disposed) {
      for (const name of this.#buffers.keys()) this.ctx.setTensorAddress(name, null);
      this.ctx.dispose();
    }
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
    this.#stream.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Elements of an output at the current input shapes; every dim must follow from them. */
  #outputElements(name: string): number {
    const shape = this.ctx.getTensorShape(name);
    if (shape.some((d) => d < 0)) throw new Error(`output '${name}' has shape [${shape.join(', ')}] after the inputs' shapes were set; its size must follow from them`);
    return shapeSize(shape);
  }

  #buffer(name: string): DeviceBuffer {
    const b = this.#buffers.get(name);
    if (!b) throw new Error(`no device buffer for '${name}': it is not an input or output of the engine`);
    return b;
  }
}

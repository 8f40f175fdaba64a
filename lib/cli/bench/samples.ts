/**
 * The sample library `inferrt bench` feeds the system under test: one request per sample, each a single row
 * (axis 0 = 1 where the batch axis is dynamic). From `--input` .npy files when given (every sample is that
 * request), else synthesized: seeded floats in [-1, 1), integers 1 (a valid token id, mask value or index for
 * any model), and the profile's opt size for other dynamic dims.
 */
import type { DType, TensorData } from '../../dtypes.js';
import type { TensorInfo } from '../../engine.js';
import type { TensorLike } from '../../tensor.js';
import type { Library } from '../library.js';
import type { InputArg } from '../inputs.js';

/** One request: a tensor per engine input. */
export type Request = Record<string, TensorLike>;

/** How many distinct synthesized samples the library holds (samples are drawn from it at random). */
export const SYNTHETIC_SAMPLES = 64;

/** The shape of one request for `info` under `profile`: one row on a dynamic axis 0, opt sizes elsewhere. */
export function requestShape(info: TensorInfo, profile: number): number[] {
  const opt = info.profiles[profile]?.opt;
  return info.dims.map((d, i) => (d >= 0 ? d : i === 0 ? 1 : (opt?.[i] ?? 1)));
}

/** Synthesized requests, deterministic for a seed. */
export function syntheticRequests(lib: Library, inputs: readonly TensorInfo[], profile: number, seed: number, count = SYNTHETIC_SAMPLES): Request[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
  return Array.from({ length: count }, () => {
    const request: Request = {};
    for (const info of inputs) {
      const shape = requestShape(info, profile);
      const data = lib.allocate(info.dtype, shape.reduce((a, b) => a * b, 1));
      fill(data, info.dtype, next, lib);
      request[info.name] = { data, shape, dtype: info.dtype };
    }
    return request;
  });
}

function fill(data: TensorData, dtype: DType, next: () => number, lib: Library): void {
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < data.length; i++) data[i] = next();
      return;
    case 'float16':
      for (let i = 0; i < data.length; i++) data[i] = lib.floatToHalfBits(next());
      return;
    case 'int64':
      (data as BigInt64Array).fill(1n);
      return;
    default:
      (data as Exclude<TensorData, BigInt64Array>).fill(1);
  }
}

/** The request `--input` files make (matched to the engine's inputs by the caller). */
export function requestFromFiles(matched: ReadonlyMap<string, InputArg>, inputs: readonly TensorInfo[]): Request {
  const request: Request = {};
  for (const info of inputs) {
    const arg = matched.get(info.name)!;
    request[info.name] = { data: arg.array.data as TensorData, shape: arg.array.shape, dtype: info.dtype };
  }
  return request;
}

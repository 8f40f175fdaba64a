/**
 * HostBuffer: pinned (page-locked) host memory that JS reads and writes through an ArrayBuffer. Copies between
 * a HostBuffer and a DeviceBuffer go straight to the GPU's copy engines; a plain typed array is first copied
 * into pinned staging memory. Use one for data you move often.
 */
import type { NativeHostBuffer } from '../binding.js';
import { DTYPES, dtypeSize, type DType, type TypedArrayFor } from '../dtypes.js';
import { InferrtError } from '../errors.js';
import { formatValue } from '../config.js';
import { checkCount, cudaBinding } from './binding.js';
import { NativeHandle } from './native-handle.js';

/**
 * Pinned host memory. `dispose()` frees it (or use `using`): the ArrayBuffer is detached at once, so every
 * view of it reads as empty rather than reaching freed memory; a copy still in flight keeps the memory until
 * it finishes.
 */
export class HostBuffer extends NativeHandle<NativeHostBuffer> {
  /** Size in bytes. */
  readonly byteLength: number;

  private constructor(native: NativeHostBuffer, byteLength: number) {
    super(native, 'HostBuffer');
    this.byteLength = byteLength;
  }

  /**
   * Allocates `bytes` of pinned host memory (contents undefined). INVALID_ARGUMENT for a bad size; CUDA_ERROR
   * where the addon has no CUDA part or no GPU is visible; OUT_OF_MEMORY when the system cannot pin that much.
   */
  static alloc(bytes: number): HostBuffer {
    const size = checkCount(bytes, 'HostBuffer.alloc: bytes');
    const binding = cudaBinding('HostBuffer.alloc');
    return new HostBuffer(new binding.HostBuffer(size), size);
  }

  /** The memory as an ArrayBuffer (the same one each time). DisposedError after dispose. */
  get buffer(): ArrayBuffer {
    return this.native('buffer').buffer();
  }

  /**
   * A typed-array view of the memory for `dtype` (float16 as Uint16Array bits, bool as Uint8Array), from
   * `byteOffset` (a multiple of the element size; default 0) for `length` elements (default: to the end).
   */
  view<D extends DType>(dtype: D, byteOffset = 0, length?: number): TypedArrayFor[D] {
    const what = 'HostBuffer.view';
    const buffer = this.native('view').buffer();
    if (!DTYPES.includes(dtype)) throw new InferrtError('INVALID_ARGUMENT', `${what}: dtype must be one of ${DTYPES.join(', ')}, got ${formatValue(dtype)}`);
    const size = dtypeSize(dtype);
    checkCount(byteOffset, `${what}: byteOffset`);
    if (byteOffset % size !== 0 || byteOffset > this.byteLength) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: byteOffset must be a multiple of ${size} (the size of ${dtype}) within the ${this.byteLength} bytes, got ${byteOffset}`);
    }
    const available = Math.floor((this.byteLength - byteOffset) / size);
    const n = length === undefined ? available : checkCount(length, `${what}: length`);
    if (n > available) {
      throw new InferrtError('INVALID_ARGUMENT', `${what}: ${n} ${dtype} elements at byte ${byteOffset} do not fit in the HostBuffer of ${this.byteLength} bytes (room for ${available})`);
    }
    return makeView(dtype, buffer, byteOffset, n) as TypedArrayFor[D];
  }

}

function makeView(dtype: DType, buffer: ArrayBuffer, byteOffset: number, length: number): ArrayBufferView {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, byteOffset, length);
    case 'float16': return new Uint16Array(buffer, byteOffset, length);
    case 'int8': return new Int8Array(buffer, byteOffset, length);
    case 'uint8':
    case 'bool': return new Uint8Array(buffer, byteOffset, length);
    case 'int32': return new Int32Array(buffer, byteOffset, length);
    case 'int64': return new BigInt64Array(buffer, byteOffset, length);
  }
}

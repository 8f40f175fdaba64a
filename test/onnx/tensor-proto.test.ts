import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensorProto, dtypeFromOnnx, onnxDTypeName, tensorDataOf } from '../../lib/onnx/tensor-proto.js';
import { decodeTensorBytes } from '../../lib/onnx/proto.js';
import { onnx, T, tensor, toLong } from './helpers.js';
import type { onnx as pb } from 'onnx-proto';

/** Encodes then decodes, as a real file would be read. */
function roundTrip(t: pb.ITensorProto): pb.TensorProto {
  return decodeTensorBytes(onnx.TensorProto.encode(onnx.TensorProto.create(t as pb.TensorProto)).finish());
}

function decode(t: pb.ITensorProto, modelDir?: string) {
  return decodeTensorProto(roundTrip(t), { modelDir });
}

describe('TensorProto decoding', () => {
  const cases: Array<[string, number, number[], Array<number | bigint>, ArrayLike<number | bigint>]> = [
    ['float32', T.FLOAT, [2, 2], [1.5, -2, 0, 3.25], Float32Array.of(1.5, -2, 0, 3.25)],
    ['int64', T.INT64, [3], [1n, -2n, 9223372036854775807n], BigInt64Array.of(1n, -2n, 9223372036854775807n)],
    ['int32', T.INT32, [2], [-7, 2147483647], Int32Array.of(-7, 2147483647)],
    ['int8', T.INT8, [3], [-128, 0, 127], Int8Array.of(-128, 0, 127)],
    ['uint8', T.UINT8, [3], [0, 128, 255], Uint8Array.of(0, 128, 255)],
    ['bool', T.BOOL, [2, 1], [1, 0], Uint8Array.of(1, 0)],
    ['float16', T.FLOAT16, [2], [0x3c00, 0xc000], Uint16Array.of(0x3c00, 0xc000)],
  ];
  for (const [dtype, code, dims, values, expected] of cases) {
    for (const raw of [true, false]) {
      it(`${dtype} from ${raw ? 'raw_data' : 'typed fields'}`, () => {
        const d = decode(tensor('w', code, dims, values, raw));
        expect(d.dtype).toBe(dtype);
        expect(d.dims).toEqual(dims);
        expect(d.name).toBe('w');
        expect(Array.from(tensorDataOf(d) as ArrayLike<number | bigint>)).toEqual(Array.from(expected));
      });
    }
  }

  it('bool from int32_data normalizes nonzero to 1', () => {
    const d = decode({ name: 'b', dataType: T.BOOL, dims: [3], int32Data: [0, 5, -1] });
    expect(Array.from(tensorDataOf(d) as Uint8Array)).toEqual([0, 1, 1]);
  });

  it('scalars (dims []) hold one element', () => {
    const d = decode(tensor('s', T.FLOAT, [], [4.5]));
    expect(d.dims).toEqual([]);
    expect(Array.from(tensorDataOf(d) as Float32Array)).toEqual([4.5]);
  });

  it('empty tensors decode to zero bytes', () => {
    const d = decode({ name: 'e', dataType: T.FLOAT, dims: [0, 3] });
    expect(d.bytes.byteLength).toBe(0);
  });

  it('int64 dims given as Long values', () => {
    const d = decode({ name: 'l', dataType: T.INT32, dims: [toLong(2n) as never], int32Data: [1, 2] });
    expect(d.dims).toEqual([2]);
  });

  it('misaligned raw_data is copied into an aligned typed array', () => {
    const d = decode(tensor('w', T.FLOAT, [3], [1, 2, 3]));
    const shifted = new Uint8Array(d.bytes.byteLength + 1);
    shifted.set(d.bytes, 1);
    const data = tensorDataOf({ ...d, bytes: shifted.subarray(1) });
    expect(Array.from(data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('element count mismatches are INVALID_MODEL naming the tensor', () => {
    expect(() => decode({ name: 'w', dataType: T.FLOAT, dims: [4], rawData: new Uint8Array(12) })).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(/tensor 'w'.*12 bytes.*16/) }),
    );
    expect(() => decode({ name: 'w', dataType: T.FLOAT, dims: [4], floatData: [1, 2] })).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(/float_data holds 2 values, but dims need 4/) }),
    );
    expect(() => decode({ name: 'w', dataType: T.FLOAT, dims: [-1], floatData: [] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }));
    expect(() => decode({ name: 'w', dims: [1], floatData: [1] })).toThrow(/data_type is not set/);
  });

  it('unsupported dtypes are UNSUPPORTED_OP naming the tensor and dtype', () => {
    for (const [code, name] of [[T.DOUBLE, 'double'], [T.INT16, 'int16'], [T.UINT16, 'uint16'], [T.UINT32, 'uint32'], [T.UINT64, 'uint64'], [T.STRING, 'string'], [T.BFLOAT16, 'bfloat16']] as const) {
      expect(() => decode({ name: 'weird', dataType: code, dims: [1], rawData: new Uint8Array(8) })).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED_OP', message: expect.stringContaining(`tensor 'weird' has dtype ${name}`) }),
      );
    }
    expect(onnxDTypeName(11)).toBe('double');
    expect(dtypeFromOnnx(T.FLOAT16, 'x')).toBe('float16');
  });

  it('malformed TensorProto bytes are INVALID_MODEL', () => {
    const good = onnx.TensorProto.encode(onnx.TensorProto.create(tensor('w', T.FLOAT, [4], [1, 2, 3, 4]) as pb.TensorProto)).finish();
    expect(() => decodeTensorBytes(good.subarray(0, good.length - 3), 'input_0.pb')).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringContaining('input_0.pb is not a valid ONNX TensorProto') }),
    );
  });
});

describe('external data', () => {
  let dir: string;
  let outside: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-ext-'));
    fs.mkdirSync(path.join(dir, 'weights'));
    const data = new Uint8Array(Float32Array.of(9, 1, 2, 3, 4).buffer);
    fs.writeFileSync(path.join(dir, 'weights', 'w.bin'), data);
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'inferrt-outside-'));
    fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(16));
    fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.bin'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const external = (entries: Record<string, string>, dims = [4]): pb.ITensorProto => ({
    name: 'w',
    dataType: T.FLOAT,
    dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  });

  it('reads location/offset/length relative to the model directory', () => {
    const d = decode(external({ location: 'weights/w.bin', offset: '4', length: '16' }), dir);
    expect(Array.from(tensorDataOf(d) as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('length defaults to the rest of the file', () => {
    const d = decode(external({ location: 'weights/w.bin', offset: '4' }), dir);
    expect(Array.from(tensorDataOf(d) as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('rejects paths that escape the model directory, absolute paths and symlinks out of it', () => {
    for (const location of ['../x.bin', 'weights/../../x.bin', path.join(outside, 'secret.bin'), 'link.bin']) {
      expect(() => decode(external({ location }), dir), location).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(/outside the model's directory|must be a relative path/) }),
      );
    }
  });

  it('validates offsets, lengths and the file', () => {
    expect(() => decode(external({ location: 'weights/w.bin', offset: '8', length: '16' }), dir)).toThrow(/runs past the end/);
    expect(() => decode(external({ location: 'weights/w.bin', offset: '-4' }), dir)).toThrow(/offset must be a non-negative integer/);
    expect(() => decode(external({ location: 'weights/w.bin', length: '20' }), dir)).toThrow(/length is 20 bytes, but the tensor's dims need 16/);
    expect(() => decode(external({ location: 'missing.bin' }), dir)).toThrow(/not found/);
    expect(() => decode(external({ location: 'weights' }, [0]), dir)).toThrow(/is not a file/);
    expect(() => decode(external({ offset: '0' }), dir)).toThrow(/no location/);
  });

  it('needs modelDir when parsing from bytes', () => {
    expect(() => decode(external({ location: 'weights/w.bin' }))).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringContaining('without options.modelDir') }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  Builder, BuilderConfig, InferrtError, fromFloat16Bits, halfBitsToFloat, tensor, toFloat16Bits, backends, version,
  layerKinds, cudaCompiled, backendSupports,
} from '../../lib/index.js';
import { thrown as errorOf } from '../inferrt-errors.js';

describe('createConfig', () => {
  const builder = new Builder({ backend: 'cpu' });

  it('defaults follow TensorRT: TF32 allowed, no fp16/int8, no profiles', () => {
    const c = builder.createConfig();
    expect(c.precision).toEqual(['tf32']);
    expect([c.tf32, c.fp16, c.int8, c.strictFp32, c.sparseWeights, c.workspaceBytes]).toEqual([true, false, false, false, false, 0]);
    expect(c.profiles).toEqual([]);
    expect(builder.createConfig({ strictFp32: true }).precision).toEqual([]);
    expect(builder.createConfig({ precision: ['fp16', 'tf32'] }).fp16).toBe(true);
  });

  it('rejects unknown options with a suggestion', () => {
    // @ts-expect-error the typo is the point
    const e = errorOf(() => builder.createConfig({ precission: ['fp16'] }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe("createConfig: unknown option 'precission' (did you mean 'precision'?)");
    // @ts-expect-error unknown and not close to anything
    expect(errorOf(() => builder.createConfig({ zzz: 1 })).message).toContain('known: precision, strictFp32');
  });

  it('validates values with the option path', () => {
    // @ts-expect-error bad precision
    expect(errorOf(() => builder.createConfig({ precision: ['fp61'] })).message).toBe(
      "createConfig: precision[0] must be one of 'tf32', 'fp16', 'int8', got 'fp61' (did you mean 'fp16'?)",
    );
    // @ts-expect-error not a boolean
    expect(errorOf(() => builder.createConfig({ strictFp32: 'yes' })).message).toBe("createConfig: strictFp32 must be a boolean, got 'yes'");
    expect(errorOf(() => builder.createConfig({ workspaceBytes: -1 })).message).toContain('workspaceBytes must be a non-negative integer');
    expect(errorOf(() => builder.createConfig({ strictFp32: true, precision: ['tf32'] })).message).toContain("precision lists 'tf32'");
  });

  it('validates profiles', () => {
    const bad = { input_ids: { min: [1, 1], opt: [8, 384], max: [64, 128] } };
    expect(errorOf(() => builder.createConfig({ profiles: [bad] })).message).toBe(
      'createConfig: profiles[0].input_ids.max[1] must be >= opt[1] (384), got 128',
    );
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [2], opt: [1], max: [4] } }] })).message).toBe(
      'createConfig: profiles[0].a.opt[0] must be >= min[0] (2), got 1',
    );
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [1], opt: [1, 2], max: [4] } }] })).message).toContain('same rank');
    // @ts-expect-error missing max
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [1], opt: [1] } }] })).message).toContain('profiles[0].a.max is missing');
    // @ts-expect-error typo in a range key
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [1], opt: [1], mx: [1] } }] })).message).toBe(
      "createConfig: profiles[0].a: unknown option 'mx' (did you mean 'max'?)",
    );
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [1.5], opt: [2], max: [2] } }] })).message).toContain('min[0] must be a non-negative integer, got 1.5');
    expect(errorOf(() => builder.createConfig({ profiles: [{ a: { min: [0], opt: [2], max: [2] } }] })).message).toBe(
      'createConfig: profiles[0].a.min[0] must be >= 1 (empty dims are not supported in profiles), got 0',
    );
  });

  it('addOptimizationProfile validates and returns the index', () => {
    const c = new BuilderConfig({ profiles: [{ a: { min: [1], opt: [2], max: [3] } }] });
    expect(c.addOptimizationProfile({ a: { min: [4], opt: [4], max: [8] } })).toBe(1);
    expect(c.numProfiles).toBe(2);
    expect(errorOf(() => c.addOptimizationProfile({ a: { min: [4], opt: [9], max: [8] } })).message).toBe(
      'addOptimizationProfile: profiles[2].a.max[0] must be >= opt[0] (9), got 8',
    );
    c.profiles[0]!.a!.min[0] = 99; // a copy
    expect(c.profiles[0]!.a!.min[0]).toBe(1);
  });
});

describe('Builder options', () => {
  it('resolves auto to the CUDA backend only where it is usable and has kernels', () => {
    const b = new Builder();
    expect(backends()).toContain(b.backend);
    const cudaRuns = backends().includes('cuda') && layerKinds().some((k) => backendSupports('cuda', k));
    expect(b.backend).toBe(cudaRuns ? 'cuda' : 'cpu');
    expect(b.device).toBe(0);
  });

  it('rejects bad options', () => {
    // @ts-expect-error typo
    expect(errorOf(() => new Builder({ backnd: 'cpu' })).message).toBe("Builder: unknown option 'backnd' (did you mean 'backend'?)");
    // @ts-expect-error bad backend
    expect(errorOf(() => new Builder({ backend: 'cdua' })).message).toContain("got 'cdua' (did you mean 'cuda'?)");
    expect(errorOf(() => new Builder({ device: -1 })).message).toBe('Builder: device must be a non-negative integer, got -1');
  });

  it.skipIf(backends().includes('cuda'))('says why cuda is unavailable', () => {
    const e = errorOf(() => new Builder({ backend: 'cuda' }));
    expect(e.code).toBe('CUDA_ERROR');
    expect(e.message).toContain(cudaCompiled() ? 'no CUDA device is visible' : 'no CUDA support');
  });

  it('reports version and layer kinds', () => {
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
    expect(layerKinds()).toEqual(expect.arrayContaining(['MatMul', 'Softmax', 'Plugin']));
  });
});

describe('tensor()', () => {
  it('infers dtype and checks the element count', () => {
    const t = tensor(new Float32Array(6), [2, 3]);
    expect(t.dtype).toBe('float32');
    expect(tensor(new Uint8Array(2), [2], 'bool').dtype).toBe('bool');
    expect(tensor(new BigInt64Array(1), []).shape).toEqual([]);
    expect(errorOf(() => tensor(new Float32Array(5), [2, 3])).message).toBe('tensor: shape [2, 3] needs 6 elements, got 5');
    const untyped = tensor as (data: unknown, shape: number[], dtype?: string) => unknown;
    const e = errorOf(() => untyped(new Float32Array(1), [1], 'int32'));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(errorOf(() => tensor(new Float32Array(1), [-1])).message).toBe('tensor: shape[0] must be a non-negative integer, got -1');
  });
});

describe('fp16 helpers', () => {
  it('round-trip every finite half exactly', () => {
    const bits = new Uint16Array(0x10000);
    for (let i = 0; i < bits.length; i++) bits[i] = i;
    const back = toFloat16Bits(fromFloat16Bits(bits));
    const wrong: number[] = [];
    for (let i = 0; i < bits.length; i++) {
      const isNaN16 = ((i >> 10) & 0x1f) === 0x1f && (i & 0x3ff) !== 0;
      if (isNaN16 ? (back[i]! & 0x7fff) <= 0x7c00 : back[i] !== i) wrong.push(i); // NaN payloads canonicalize
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even and saturates to infinity', () => {
    expect(Array.from(toFloat16Bits([1, -2, 0.1, 65504, 65520, 1e-8, 2 ** -24, 1 + 2 ** -11]))).toEqual([
      0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00, 0, 1, 0x3c00,
    ]);
    expect(halfBitsToFloat(0x3555)).toBeCloseTo(0.333, 3);
    expect(Number.isNaN(halfBitsToFloat(0x7e00))).toBe(true);
  });
});

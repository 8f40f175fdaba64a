/**
 * GPU suite, CUDA vs CPU on the PyTorch exports in test/fixtures/models: each model is built three ways — CUDA
 * with the default config (TF32 allowed, as TensorRT), CUDA with strictFp32, and the CPU reference (strict fp32) —
 * with one profile spanning the two input shapes of the manifest's onnxruntime smoke runs (batch 1 × sequence 5,
 * batch 3 × sequence 16; batch 1 and 3 for the CNNs), run at both shapes, and CUDA's outputs compared with the
 * CPU's. Each model also reports which of its layers run on the CPU fallback (supported, not a failure).
 * Skipped, with the reason, where the addon has no CUDA part or no GPU is visible.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest, manifestPath, modelsDir, type ManifestFile, type ManifestIO } from '../fixtures/manifest.js';
import {
  Builder, OnnxParser, Runtime, type BuilderConfigOptions, type Engine, type OptimizationProfile, type Tensor, type TensorLike,
} from '../../lib/index.js';
import {
  FallbackTally, checkAgreement, cudaSkipReason, describeFallback, fallbackLayers, reportSkipped, type Agreement, type Tolerance,
} from './helpers.js';

const dir = modelsDir;
const manifest = loadManifest();
const skipReason = cudaSkipReason || (manifest ? '' : `${manifestPath} not found`);

/**
 * CUDA with TF32 vs the fp32 CPU reference. TF32 keeps 10 mantissa bits of each MatMul/Gemm/Conv input (unit
 * roundoff u = 2^-11 ≈ 4.9e-4), so each product carries a relative error up to ~2u; in a dot product the rounding
 * errors are independent and mostly cancel, giving an output error of about u·||x||·||w|| ≈ u relative to the
 * output's RMS per layer, growing roughly as sqrt(depth) (LayerNorm/BatchNorm renormalize, they do not amplify).
 * These models are 2-layer transformers (≈12 GEMMs deep) and CNNs ≈10-20 convolutions deep: expect relative L2
 * errors around 1e-3. Bounds: relative L2 ≤ 5e-3 (≈10u), and the worst element ≤ 2e-2 · max|cpu| (a few σ of the
 * error distribution over thousands of elements, with σ ≤ 5e-3 · RMS ≤ 5e-3 · max). Both scale with the output, so
 * small logits are held to the same relative standard; the 1e-6 floor only matters for all-zero outputs.
 */
const TF32_TOL: Tolerance = { relL2: 5e-3, maxRel: 2e-2, absFloor: 1e-6 };
/**
 * CUDA strict fp32 vs CPU fp32: the same math in another summation order (blocked GEMM, cuDNN algorithms,
 * parallel reductions) and fast exp/erf/tanh within a few ulp: errors ~sqrt(K)·2^-24 per layer, far below 1e-5.
 * Bound: 1e-4 relative, both in L2 and for the worst element relative to max|cpu|.
 */
const FP32_TOL: Tolerance = { relL2: 1e-4, maxRel: 1e-4, absFloor: 1e-6 };

/**
 * CUDA FP16 vs the CPU's FP16 emulation (precision ['fp16'] on both): both round the same weights (the builder
 * does) and the same activations (every fp16 layer's inputs and outputs) to fp16, and both accumulate in fp32,
 * so they differ only where an fp32 result lands within an ulp of an fp16 rounding boundary and rounds the other
 * way after a different summation order: one fp16 ulp (2^-11 ≈ 4.9e-4 relative) at scattered elements, carried
 * through the later layers. Bounds: relative L2 ≤ 1e-2 (≈20 ulp) and the worst element ≤ 5e-2 · max|cpu|.
 */
const FP16_TOL: Tolerance = { relL2: 1e-2, maxRel: 5e-2, absFloor: 1e-6 };

const dtypes: Record<string, 'float32' | 'int64'> = { FLOAT: 'float32', INT64: 'int64' };

/** Concrete dims of `io` at one manifest shape (symbolic dims by name). */
function dimsAt(io: ManifestIO, shape: Record<string, number>): number[] {
  return io.shape.map((d) => (typeof d === 'number' ? d : shape[d]!));
}

/**
 * Deterministic inputs at one shape: a smooth float pattern for images; for transformers ids in [3, 128), an
 * attention mask with right padding (row 0 full, row b shorter by 2b, at least 1 token) and token types 0/1.
 */
function inputsAt(file: ManifestFile, shape: Record<string, number>): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const io of file.inputs) {
    const dims = dimsAt(io, shape);
    const n = dims.reduce((a, d) => a * d, 1);
    const dtype = dtypes[io.dtype];
    if (dtype === 'float32') {
      out[io.name] = { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011)), shape: dims };
      continue;
    }
    if (dtype !== 'int64' || dims.length !== 2) throw new Error(`${file.name}: no input generator for ${io.name} ${io.dtype} [${io.shape}]`);
    const [batch, seq] = dims as [number, number];
    const value = (b: number, s: number): number => {
      if (io.name === 'attention_mask') return s < Math.max(1, seq - 2 * b) ? 1 : 0;
      if (io.name === 'token_type_ids') return s >= seq >> 1 ? 1 : 0;
      return 3 + ((b * 131 + s * 17 + 5) % 125);
    };
    out[io.name] = { data: BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(value(Math.floor(i / seq), i % seq))), shape: dims };
  }
  return out;
}

/** One profile: min = the first manifest shape, opt = max = the second. */
function profileOf(file: ManifestFile): OptimizationProfile {
  const [small, large] = [file.ort[0]!.shape, file.ort[file.ort.length - 1]!.shape];
  const profile: OptimizationProfile = {};
  for (const io of file.inputs) {
    if (io.shape.every((d) => typeof d === 'number')) continue;
    profile[io.name] = { min: dimsAt(io, small), opt: dimsAt(io, large), max: dimsAt(io, large) };
  }
  return profile;
}

async function load(file: ManifestFile, backend: 'cpu' | 'cuda', config: BuilderConfigOptions): Promise<Engine> {
  const builder = new Builder({ backend });
  using network = builder.createNetwork();
  await OnnxParser.parseFile(network, path.join(dir, file.name));
  const plan = await builder.build(network, builder.createConfig({ ...config, profiles: [profileOf(file)] }));
  return Runtime.load(plan);
}

async function runAt(engine: Engine, inputs: Record<string, TensorLike>): Promise<Record<string, Tensor>> {
  using ctx = engine.createContext();
  return ctx.infer(inputs);
}

const tally = new FallbackTally();
const worst = { tf32: 0, fp32: 0, fp16: 0 };

describe.skipIf(skipReason !== '')('CUDA vs CPU on the PyTorch export fixtures', () => {
  afterAll(() => {
    console.log(`CUDA fixtures: worst relative L2 error vs CPU: TF32 ${worst.tf32.toExponential(2)} (bound ${TF32_TOL.relL2}), strict fp32 ${worst.fp32.toExponential(2)} (bound ${FP32_TOL.relL2}), fp16 vs CPU fp16 emulation ${worst.fp16.toExponential(2)} (bound ${FP16_TOL.relL2})`);
    console.log(`CUDA fixtures, layer kinds on the CPU fallback: ${tally.summary('models')}`);
    for (const line of tally.reasons()) console.log(line);
  });

  for (const file of manifest?.files ?? []) {
    it(file.name, async () => {
      using cpu = await load(file, 'cpu', { strictFp32: true });
      using cudaTf32 = await load(file, 'cuda', {});
      using cudaFp32 = await load(file, 'cuda', { strictFp32: true });
      using cpuHalf = await load(file, 'cpu', { precision: ['fp16'] });
      using cudaHalf = await load(file, 'cuda', { precision: ['fp16'] });
      expect(cudaTf32.info.precision, 'the default CUDA config allows TF32').toContain('tf32');
      expect(cudaFp32.info.precision).not.toContain('tf32');

      const fallback = fallbackLayers(cudaTf32);
      tally.add(file.name, fallback);
      console.log(`${file.name}: ${cudaTf32.layers.length} layers, on the CPU fallback: ${describeFallback(fallback)}`);

      const problems: string[] = [];
      const measured = { tf32: { relL2: 0, maxAbs: 0 }, fp32: { relL2: 0, maxAbs: 0 }, fp16: { relL2: 0, maxAbs: 0 } };
      for (const { shape } of [file.ort[0]!, file.ort[file.ort.length - 1]!]) {
        const inputs = inputsAt(file, shape);
        const at = Object.entries(shape).map(([k, v]) => `${k}=${v}`).join(' ');
        const wantFp32 = await runAt(cpu, inputs);
        const wantHalf = await runAt(cpuHalf, inputs);
        for (const [label, engine, tol] of [['tf32', cudaTf32, TF32_TOL], ['fp32', cudaFp32, FP32_TOL], ['fp16', cudaHalf, FP16_TOL]] as const) {
          const want = label === 'fp16' ? wantHalf : wantFp32;
          const got = await runAt(engine, inputs);
          expect(Object.keys(got).sort(), `${label} at ${at}: output names`).toEqual(Object.keys(want).sort());
          for (const [name, ref] of Object.entries(want)) {
            const record = (a: Agreement): void => {
              measured[label].relL2 = Math.max(measured[label].relL2, a.relL2);
              measured[label].maxAbs = Math.max(measured[label].maxAbs, a.maxAbs / (a.refMax || 1));
            };
            const problem = checkAgreement(ref, got[name]!, tol, record);
            if (problem) problems.push(`${label} at ${at}, output '${name}': ${problem}`);
          }
        }
      }
      worst.tf32 = Math.max(worst.tf32, measured.tf32.relL2);
      worst.fp32 = Math.max(worst.fp32, measured.fp32.relL2);
      worst.fp16 = Math.max(worst.fp16, measured.fp16.relL2);
      const fmt = (m: { relL2: number; maxAbs: number }): string => `relL2 ${m.relL2.toExponential(2)}, max abs/max|cpu| ${m.maxAbs.toExponential(2)}`;
      console.log(`  vs CPU, worst output: TF32 ${fmt(measured.tf32)}; strict fp32 ${fmt(measured.fp32)}; fp16 ${fmt(measured.fp16)}`);
      expect(problems, `CUDA vs CPU (CPU fallback: ${describeFallback(fallback)})`).toEqual([]);
    });
  }
});

if (skipReason !== '') reportSkipped('CUDA vs CPU on the PyTorch export fixtures', skipReason);
